"""Compare an old and a new Go benchmark run the way benchstat does, or run benchstat itself.

The statistics follow golang.org/x/perf/benchmath's AssumeNothing (benchstat's default):
medians, a two-sided Mann-Whitney U test at alpha 0.05, the same exact/normal switch-over
and the same "need >= N samples" warning, so a verdict here matches benchstat's.
"""

from __future__ import annotations

import math
import shutil
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.errors import TaskFailed
from gotasks.go.benchfmt import BenchKey, BenchResult, group, short_name
from gotasks.go.mannwhitney import ALPHA, mann_whitney_u, samples_needed

__all__ = [
    "BenchstatError",
    "Comparison",
    "Geomean",
    "Row",
    "Unpaired",
    "benchstat_available",
    "compare",
    "format_table",
    "run_benchstat",
]

ALL_EQUAL_NOTE = "all samples are equal"


class BenchstatError(TaskFailed):
    """benchstat could not be run, or it exited non-zero."""

    def __init__(self, message: str, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True, slots=True)
class Row:
    """One (pkg, name, unit) measured in both runs."""

    pkg: str
    name: str
    unit: str
    old_median: float
    new_median: float
    old_n: int
    new_n: int
    delta_pct: float | None  # change of the medians; None when old is 0 and new is not
    p_value: float
    significant: bool  # p <= alpha; when False benchstat shows the delta as "~"
    note: str  # why a difference could not be detected ("" when there is nothing to say)


@dataclass(frozen=True, slots=True)
class Unpaired:
    """A (pkg, name, unit) measured in one run only."""

    pkg: str
    name: str
    unit: str
    median: float
    n: int


@dataclass(frozen=True, slots=True)
class Geomean:
    """Geometric means of one unit over the benchmarks measured in both runs."""

    unit: str
    old: float | None  # None when a median is <= 0, where a geomean is undefined
    new: float | None
    delta_pct: float | None  # from the geomean of the per-benchmark ratios, as benchstat does
    n: int  # how many benchmarks went in
    note: str


@dataclass(frozen=True, slots=True)
class Comparison:
    rows: list[Row]
    only_old: list[Unpaired]
    only_new: list[Unpaired]
    geomeans: list[Geomean]
    alpha: float


def _delta_pct(old: float, new: float) -> float | None:
    if old == new:
        return 0.0
    if old == 0:
        return None
    return (new / old - 1) * 100


def _compare_samples(
    key: BenchKey, unit: str, xs: list[float], ys: list[float], alpha: float
) -> Row:
    old_med, new_med = statistics.median(xs), statistics.median(ys)
    test = mann_whitney_u(xs, ys)
    significant = test.p <= alpha  # benchstat's FormatDelta prints "~" only when p > alpha
    note = ""
    if len(set(xs) | set(ys)) == 1:
        note = ALL_EQUAL_NOTE
    elif not significant:
        need = samples_needed(alpha)
        # As benchstat: warn only when neither side could ever show a difference.
        if len(xs) < need and len(ys) < need:
            note = f"need >= {need} samples to detect a difference at alpha level {alpha}"
    return Row(
        pkg=key[0],
        name=key[1],
        unit=unit,
        old_median=old_med,
        new_median=new_med,
        old_n=len(xs),
        new_n=len(ys),
        delta_pct=_delta_pct(old_med, new_med),
        p_value=test.p,
        significant=significant,
        note=note,
    )


def _geomean_of(values: list[float]) -> float | None:
    if not values or any(v <= 0 for v in values):
        return None
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def _geomean(unit: str, rows: list[Row], partial: bool) -> Geomean:
    notes: list[str] = []
    old = _geomean_of([r.old_median for r in rows])
    new = _geomean_of([r.new_median for r in rows])
    if old is None or new is None:
        notes.append("summaries must be >0 to compute geomean")
    # benchstat takes the geomean of the ratios (0/0 counting as 1), so a unit such as
    # allocs/op that is 0 somewhere still gets a delta.
    ratios: list[float] = []
    for r in rows:
        if r.old_median == r.new_median:
            ratios.append(1.0)
        elif r.old_median == 0:
            break
        else:
            ratios.append(r.new_median / r.old_median)
    ratio = _geomean_of(ratios) if len(ratios) == len(rows) else None
    if ratio is None:
        notes.append("ratios must be >0 to compute geomean")
    if partial:
        notes.append("benchmarks in only one run are left out of the geomean")
    return Geomean(
        unit=unit,
        old=old,
        new=new,
        delta_pct=None if ratio is None else (ratio - 1) * 100,
        n=len(rows),
        note="; ".join(notes),
    )


def compare(old: list[BenchResult], new: list[BenchResult], alpha: float = ALPHA) -> Comparison:
    """Compare every (pkg, name, unit) of two runs; rows keep the order of the old run."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], not {alpha}")
    old_groups, new_groups = group(old), group(new)
    rows: list[Row] = []
    only_old: list[Unpaired] = []
    only_new: list[Unpaired] = []
    for key, samples in old_groups.items():
        theirs = new_groups.get(key, {})
        for unit, xs in samples.items():
            ys = theirs.get(unit)
            if ys is None:
                only_old.append(Unpaired(key[0], key[1], unit, statistics.median(xs), len(xs)))
            else:
                rows.append(_compare_samples(key, unit, xs, ys, alpha))
    for key, samples in new_groups.items():
        ours = old_groups.get(key, {})
        for unit, ys in samples.items():
            if unit not in ours:
                only_new.append(Unpaired(key[0], key[1], unit, statistics.median(ys), len(ys)))

    unpaired_units = {u.unit for u in only_old} | {u.unit for u in only_new}
    by_unit: dict[str, list[Row]] = {}
    for row in rows:
        by_unit.setdefault(row.unit, []).append(row)
    geomeans = [_geomean(unit, rs, unit in unpaired_units) for unit, rs in by_unit.items()]
    return Comparison(rows, only_old, only_new, geomeans, alpha)


# --- text table --------------------------------------------------------------------------

# benchstat shows times in seconds and rates in bytes, with SI prefixes; so do we.
_TIDY_UNITS = {"ns/op": ("sec/op", 1e-9), "MB/s": ("B/s", 1e6)}
_SI_PREFIXES = [
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
]
_BINARY_PREFIXES = [(2.0**40, "Ti"), (2.0**30, "Gi"), (2.0**20, "Mi"), (2.0**10, "Ki")]


def _tidy_unit(unit: str) -> tuple[str, float]:
    return _TIDY_UNITS.get(unit, (unit, 1.0))


def _four_digits(x: float) -> str:
    return f"{x:#.4g}".rstrip(".")


def _scaled(value: float, unit: str) -> str:
    """Four significant digits and a prefix, e.g. 1.043µ, 128.0, 1.500Ki."""
    if value == 0:
        return _four_digits(0.0)
    if not math.isfinite(value):
        return f"{value:g}"
    size = abs(value)
    prefixes = _BINARY_PREFIXES if unit.startswith("B/") else _SI_PREFIXES
    for factor, prefix in prefixes:
        if size >= factor:
            return _four_digits(value / factor) + prefix
    return _four_digits(value) if unit.startswith("B/") else f"{value:.3g}"


def _delta_text(row: Row) -> str:
    if not row.significant:
        return "~"
    if row.delta_pct is None:
        return "?"
    if row.old_median == row.new_median:
        return "0.00%"
    return f"{row.delta_pct:+.2f}%"


def _n_text(n1: int, n2: int) -> str:
    return str(n1) if n1 == n2 else f"{n1}+{n2}"


def _render(table: list[list[str]]) -> list[str]:
    """Left-align the first column, right-align the rest, two spaces apart.

    A one-cell row is a heading: printed as it is and left out of the column widths.
    """
    cells_rows = [r for r in table if len(r) > 1]
    widths = [max(len(r[i]) for r in cells_rows) for i in range(len(cells_rows[0]))]
    lines = []
    for r in table:
        if len(r) == 1:
            lines.append(r[0])
            continue
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_table(comparison: Comparison, *, old_label: str = "old", new_label: str = "new") -> str:
    """A plain-text table in the spirit of benchstat's: one section per unit.

    Columns are name, old median, new median, delta ("~" when not significant), p and n;
    notes become numbered footnotes.
    """
    footnotes: list[str] = []

    def mark(note: str) -> str:
        if not note:
            return ""
        if note not in footnotes:
            footnotes.append(note)
        return f"({footnotes.index(note) + 1})"

    units: list[str] = []
    for unit in [r.unit for r in comparison.rows] + [
        u.unit for u in comparison.only_old + comparison.only_new
    ]:
        if unit not in units:
            units.append(unit)
    pkgs = {r.pkg for r in comparison.rows} | {
        u.pkg for u in comparison.only_old + comparison.only_new
    }
    out: list[str] = []
    if len(pkgs) == 1 and "" not in pkgs:
        out += [f"pkg: {next(iter(pkgs))}", ""]

    geomeans = {g.unit: g for g in comparison.geomeans}
    for unit in units:
        shown, scale = _tidy_unit(unit)

        def fmt(value: float, shown: str = shown, scale: float = scale) -> str:
            return _scaled(value * scale, shown)

        # (pkg, cells) so the rows of a package can be given a heading when there are several.
        entries: list[tuple[str, list[str]]] = []
        for r in comparison.rows:
            if r.unit == unit:
                name = short_name(r.name)
                cells = [name, fmt(r.old_median), fmt(r.new_median), _delta_text(r)]
                cells += [f"{r.p_value:.3f}", _n_text(r.old_n, r.new_n), mark(r.note)]
                entries.append((r.pkg, cells))
        for u, side in [(u, "old") for u in comparison.only_old] + [
            (u, "new") for u in comparison.only_new
        ]:
            if u.unit == unit:
                name = short_name(u.name)
                old_cell, new_cell = (fmt(u.median), "-") if side == "old" else ("-", fmt(u.median))
                entries.append((u.pkg, [name, old_cell, new_cell, "", "", str(u.n), ""]))

        table: list[list[str]] = [[shown, old_label, new_label, "delta", "p", "n", ""]]
        last_pkg: str | None = None
        # Keep each package's rows together (the one-run rows were appended last).
        pkg_order = list(dict.fromkeys(pkg for pkg, _ in entries))
        entries.sort(key=lambda entry: pkg_order.index(entry[0]))
        for pkg, cells in entries:
            if len(pkgs) > 1 and pkg != last_pkg:
                table.append([f"pkg: {pkg or '?'}"])
                last_pkg = pkg
            table.append(cells)
        gm = geomeans.get(unit)
        # With one benchmark the geomean would only repeat its row.
        if gm is not None and gm.n > 1:
            old_gm = "-" if gm.old is None else fmt(gm.old)
            new_gm = "-" if gm.new is None else fmt(gm.new)
            delta = "?" if gm.delta_pct is None else f"{gm.delta_pct:+.2f}%"
            table.append(["geomean", old_gm, new_gm, delta, "", "", mark(gm.note)])
        out += [*_render(table), ""]

    for i, note in enumerate(footnotes, 1):
        out.append(f"({i}) {note}")
    return "\n".join(out).rstrip("\n") + "\n"


# --- the real benchstat ------------------------------------------------------------------


def benchstat_available() -> str | None:
    """The path of benchstat on PATH, or None."""
    return shutil.which("benchstat")


def run_benchstat(
    old_file: str | Path,
    new_file: str | Path,
    *,
    args: Sequence[str] = (),
    executable: str | None = None,
    command: Sequence[str] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run benchstat on two files of benchmark output and return what it prints.

    args go before the file names (e.g. ["-format", "csv"]); `command` runs it another way
    (["go", "tool", "golang.org/x/perf/cmd/benchstat"], in `cwd` with `env`). Raises
    BenchstatError when benchstat is missing, times out or exits non-zero.
    """
    if command is None:
        exe = executable or benchstat_available()
        if exe is None:
            raise BenchstatError("benchstat is not on PATH")
        command = [exe]
    cmd = [*command, *args, str(old_file), str(new_file)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=None if env is None else dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchstatError(f"could not run {command[0]}: {e}") from e
    if proc.returncode != 0:
        raise BenchstatError(
            f"benchstat exited with status {proc.returncode}: {proc.stderr.strip()}",
            proc.returncode,
            proc.stderr,
        )
    return proc.stdout
