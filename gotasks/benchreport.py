"""`inv bench.report FILE.html`: each benchmark's history across the saved runs, as a page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import modules_of, settings_of
from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text
from gotasks.engine import task
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.go.benchhistory import SavedRun, Series
    from gotasks.go.modules import Module

WIDTH = 420  # a chart per unit, side by side: time/op, B/op, allocs/op
LEFT = 52  # room for the value axis' labels
RIGHT = 34  # room for the last run's label
TOP = 34  # room for the title and the change marks above the highest point
PLOT_HEIGHT = 130
BOTTOM = 24  # room for the runs' labels
MAX_RUN_LABELS = 6


@task(
    cpu=0.5,
    mem="256M",
    needs=("settings",),
    positional=["file"],
    help={
        "file": "the HTML file to write",
        "module": "only this module (its folder or module path); default: every module",
    },
)
def report(c: Context, file: str | None = None, module: str | None = None) -> None:
    """Write an HTML page of every benchmark's history across the saved runs (--env's)."""
    from gotasks.engine.htmlpage import facts_list, page
    from gotasks.go.benchhistory import load_runs, ordered
    from gotasks.go.modules import find

    assert file is not None
    settings = settings_of(c.config)
    modules = modules_of(c.config)
    if module is not None:
        modules = [find(modules, module)]
    alpha = float(settings.section("bench")["alpha"])
    sections, problems, total = [], [], 0
    for mod in modules:
        folder = state_dir(settings.root) / "bench" / settings.env / mod.name
        runs, unreadable = load_runs(folder)
        problems += unreadable
        if not runs:
            continue
        runs = ordered(runs, _CommitDates(settings.root))
        total += len(runs)
        sections.append(_module_section(mod, runs, alpha))
    for line in problems:
        console.warn(line)
    if not sections:
        raise UsageError(
            f"no saved benchmark runs for env {settings.env!r}"
            f" under {state_dir(settings.root) / 'bench' / settings.env}: run `inv bench` first"
        )
    facts = [("env", settings.env), ("modules", str(len(sections))), ("runs", str(total))]
    body = facts_list(facts) + "\n" + "\n".join(sections)
    atomic_write_text(file, page(f"gotasks benchmarks ({settings.env})", body))
    console.ok(f"benchmark report: {file}")


class _CommitDates:
    """A commit's date from git, asked once per commit (gitpython, loaded only here)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: dict[str, datetime | None] = {}

    def __call__(self, commit: str) -> datetime | None:
        if commit not in self.known:
            self.known[commit] = None if commit == "unknown" else self._ask(commit)
        return self.known[commit]

    def _ask(self, commit: str) -> datetime | None:
        import git

        try:
            repo = git.Repo(self.root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        with repo:
            try:
                return repo.commit(commit).committed_datetime
            except (ValueError, git.BadName, git.GitCommandError):
                return None  # a commit this clone does not have (rebased away, shallow)


def _module_section(mod: Module, runs: list[SavedRun], alpha: float) -> str:
    from html import escape  # with the report, not with every `inv`

    from gotasks.engine.htmlpage import legend
    from gotasks.go.benchhistory import history

    series = history(runs, alpha)
    parts = [f"<h2>{escape(mod.label)} ({escape(mod.path)})</h2>"]
    parts.append(
        legend(
            [
                ("line", "median (band: smallest to largest sample)"),
                ("failed", "worse"),
                ("ok", "better"),
            ]
        )
    )
    by_benchmark: dict[tuple[str, str], list[Series]] = {}
    for one in series:
        by_benchmark.setdefault((one.pkg, one.name), []).append(one)
    for (pkg, name), charts in by_benchmark.items():
        parts.append(f"<h3>{escape(name)} <small>{escape(pkg)}</small></h3>")
        parts.append('<div class="charts">' + "".join(_chart(c, runs) for c in charts) + "</div>")
    if len(runs) > 1:
        parts.append(
            f"<h3>latest comparison: {escape(runs[-2].label)} to {escape(runs[-1].label)}</h3>"
        )
        parts.append(_latest_table(runs[-2], runs[-1], alpha))
    return "\n".join(parts)


def _chart(series: Series, runs: Sequence[SavedRun]) -> str:
    from html import escape  # with the report, not with every `inv`

    from gotasks.engine.htmlpage import nice_step, num

    title = f"{series.name}: {series.unit}"
    highest = max(p.high for p in series.points)
    vmax = highest * 1.1 if highest > 0 else 1.0
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / max(len(runs) - 1, 1)

    def x(run: int) -> float:
        return LEFT + (run * step if len(runs) > 1 else plot_width / 2)

    def y(value: float) -> float:
        return TOP + PLOT_HEIGHT - max(value, 0.0) / vmax * PLOT_HEIGHT

    height = TOP + PLOT_HEIGHT + BOTTOM
    out = [
        f'<svg class="chart bench" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="{escape(title)}" data-benchmark="{escape(series.name)}"'
        f' data-unit="{escape(series.unit)}">',
        f'<text x="{LEFT}" y="14">{escape(series.unit)}</text>',
    ]
    tick, value = nice_step(vmax, 4), 0.0
    grid = []
    while value <= vmax:
        grid.append(
            f'<line x1="{LEFT}" y1="{num(y(value))}" x2="{WIDTH - RIGHT}" y2="{num(y(value))}"/>'
            f'<text x="{LEFT - 6}" y="{num(y(value) + 4)}" text-anchor="end">'
            f"{escape(_axis_value(value, series.unit))}</text>"
        )
        value += tick
    out.append(f'<g class="axis grid">{"".join(grid)}</g>')
    every = math.ceil(len(runs) / MAX_RUN_LABELS)
    for index, run in enumerate(runs):
        if index % every and index != len(runs) - 1:
            continue
        label = run.label[:7] + ("*" if run.dirty else "") + ("~" if "~" in run.label else "")
        out.append(
            f'<text class="muted" x="{num(x(index))}" y="{TOP + PLOT_HEIGHT + 16}"'
            f' text-anchor="middle">{escape(label)}</text>'
        )
    points = series.points
    if len(points) > 1:
        band = [f"{num(x(p.run))},{num(y(p.high))}" for p in points]
        band += [f"{num(x(p.run))},{num(y(p.low))}" for p in reversed(points)]
        out.append(f'<polygon class="spread" points="{" ".join(band)}"/>')
        line = " ".join(f"{num(x(p.run))},{num(y(p.median))}" for p in points)
        out.append(f'<polyline class="series line" points="{line}"/>')
    for p in points:
        run = runs[p.run]
        words = (
            f"{run.label}: median {_value(p.median, series.unit)}, spread"
            f" {_value(p.low, series.unit)} to {_value(p.high, series.unit)}, {p.n} samples"
        )
        out.append(
            f'<circle class="point" cx="{num(x(p.run))}" cy="{num(y(p.median))}" r="3.5"'
            f' data-run="{escape(run.label)}" data-median="{p.median!r}">'
            f"<title>{escape(words)}</title></circle>"
        )
    by_run = {p.run: p for p in points}
    for change in series.changes:
        p = by_run[change.run]
        kind = "change-worse" if _worse(series.unit, change.delta_pct) else "change-better"
        text = f"{change.delta_pct:+.1f}% {runs[change.run].label[:7]}"
        # The last run's mark ends at its point, so it stays inside the chart.
        anchor = "end" if p.run == len(runs) - 1 and len(runs) > 1 else "middle"
        out.append(
            f'<text class="change {kind}" x="{num(x(p.run))}" y="{num(y(p.high) - 8)}"'
            f' text-anchor="{anchor}" data-run="{escape(runs[change.run].label)}"'
            f' data-delta="{change.delta_pct!r}">{escape(text)}'
            f"<title>{escape(text)} (p={change.p_value:.3f})</title></text>"
        )
    out.append("</svg>")
    return "".join(out)


def _latest_table(before: SavedRun, after: SavedRun, alpha: float) -> str:
    from gotasks.engine.htmlpage import Cell, sortable_table
    from gotasks.go.benchcompare import compare

    rows = []
    for row in compare(before.results, after.results, alpha).rows:
        delta = row.delta_pct
        verdict = _verdict(row.unit, delta) if row.significant else "~ (no significant change)"
        rows.append(
            [
                Cell(f"{row.name}"),
                Cell(row.unit),
                Cell(_value(row.old_median, row.unit), row.old_median),
                Cell(_value(row.new_median, row.unit), row.new_median),
                Cell("?" if delta is None else f"{delta:+.2f}%", delta),
                Cell(f"{row.p_value:.3f}", row.p_value),
                Cell(verdict),
            ]
        )
    head = [
        ("benchmark", False),
        ("unit", False),
        (before.label, True),
        (after.label, True),
        ("change", True),
        ("p", True),
        ("verdict", False),
    ]
    return sortable_table(head, rows)


def _worse(unit: str, delta_pct: float) -> bool:
    """A rate (MB/s, ops/s) is worse when it falls; a cost per op when it rises."""
    return delta_pct < 0 if unit.endswith("/s") else delta_pct > 0


def _verdict(unit: str, delta_pct: float | None) -> str:
    if delta_pct is None or delta_pct == 0:
        return "changed"
    return "worse" if _worse(unit, delta_pct) else "better"


def _axis_value(value: float, unit: str) -> str:
    """An axis label: the unit is in the chart's title, so only time keeps its suffix."""
    if unit == "ns/op":
        return _value(value, unit)
    return f"{value:.3g}"


def _value(value: float, unit: str) -> str:
    if unit == "ns/op":
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if abs(value) >= scale:
                return f"{value / scale:.3g}{name}"
        return f"{value:.3g}ns"
    if math.isfinite(value) and value == int(value):
        return f"{int(value)} {unit}"
    return f"{value:.3g} {unit}"
