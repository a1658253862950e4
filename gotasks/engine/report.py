"""The HTML report of a run: a Gantt chart, CPU and memory against the quotas, the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from gotasks.core.files import StrPath, atomic_write_text
from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.history import TaskRecord
from gotasks.engine.htmlpage import (
    Cell,
    facts_list,
    legend,
    nice_step,
    num,
    page,
    sortable_table,
)
from gotasks.engine.trace import critical_path

WIDTH = 1100  # the charts' user units; the page scales them to the window
LABEL_WIDTH = 90  # the row names' column left of the time axis
RIGHT_PAD = 20
ROW_HEIGHT = 22
AXIS_HEIGHT = 22
COUNTER_HEIGHT = 130
COUNTER_TOP = 8.0
# More samples than pixels tell nothing more; a bucket keeps its maxima, so a peak (and
# a memory kill's overshoot) is never smoothed away.
MAX_POINTS = 1500
STATUSES = ("ok", "failed", "killed", "timeout", "interrupted", "skipped", "uptodate")
_STATUS_LABELS = {"uptodate": "up to date"}


@dataclass(frozen=True)
class ReportTask:
    """A task of the run as the report shows it: what happened and what it was allowed."""

    record: TaskRecord
    message: str | None
    mem_limit: int
    cpu_declared: float
    mem_declared: int
    cpu_learned: float | None  # from past runs (history), if any
    mem_learned: int | None
    stopped_at: float | None = None  # when gotasks decided to kill it (memory, timeout)


@dataclass(frozen=True)
class RunReport:
    tasks: Sequence[ReportTask]
    counters: Sequence[tuple[float, float, int]]  # (seconds, CPU % of capacity, RSS bytes)
    cpus: float
    memory: int
    facts: Sequence[tuple[str, str]]


def write_report(path: StrPath, report: RunReport) -> None:
    atomic_write_text(path, render(report))


def render(report: RunReport) -> str:
    ran = [t for t in report.tasks if _ran(t.record)]
    total = max([t.record.end for t in ran] + [s for s, _, _ in report.counters] + [0.001])
    scale = (WIDTH - LABEL_WIDTH - RIGHT_PAD) / total
    counters = _downsample(sorted(report.counters))
    critical = set(critical_path([t.record for t in ran]))
    not_run = [t for t in report.tasks if not _ran(t.record)]
    parts = [
        facts_list(report.facts),
        "<h2>Tasks over time</h2>",
        legend([(s, _STATUS_LABELS.get(s, s)) for s in STATUSES] + [("critical", "critical path")]),
        _gantt(ran, critical, total, scale),
    ]
    if not_run:
        chips = " ".join(
            f'<span class="chip s-skipped" title="{escape(t.message or "not run")}">'
            f"{escape(t.record.name)}</span>"
            for t in not_run
        )
        parts.append(f'<p class="not-run">not run: {chips}</p>')
    parts += [
        "<h2>CPU</h2>",
        _cpu_chart(counters, report.cpus, total, scale),
        "<h2>Memory</h2>",
        _memory_chart(counters, report, total, scale),
        "<h2>Summary</h2>",
        _table(report.tasks, critical),
    ]
    failed = sum(t.record.status in ("failed", "killed", "timeout") for t in report.tasks)
    verdict = "failed" if failed else "ok"
    return page(f"gotasks run: {verdict}, {len(report.tasks)} tasks", "\n".join(parts))


def _ran(record: TaskRecord) -> bool:
    return record.status != "skipped"


def _x(seconds: float, scale: float) -> float:
    return LABEL_WIDTH + max(0.0, seconds) * scale


def _svg_open(height: float, label: str, total: float, scale: float, kind: str) -> str:
    # data-x0/data-px-per-s say where time 0 is and how many units a second takes: the
    # scale every bar and curve of this chart is drawn with.
    return (
        f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {num(height)}" role="img"'
        f' aria-label="{escape(label)}" data-x0="{LABEL_WIDTH}" data-px-per-s="{scale!r}"'
        f' data-seconds="{total!r}" preserveAspectRatio="xMinYMin meet">'
    )


def _time_axis(top: float, bottom: float, total: float, scale: float) -> str:
    step = nice_step(total)
    ticks = []
    t = 0.0
    while t <= total + 1e-9:
        x = num(_x(t, scale))
        ticks.append(
            f'<line x1="{x}" y1="{num(top)}" x2="{x}" y2="{num(bottom)}"/>'
            f'<text x="{x}" y="{num(bottom + 14)}" text-anchor="middle">'
            f"{escape(format_duration(t))}</text>"
        )
        t += step
    return f'<g class="axis grid">{"".join(ticks)}</g>'


def _gantt(ran: list[ReportTask], critical: set[str], total: float, scale: float) -> str:
    slots = sorted({t.record.slot for t in ran}) or [0]
    row_of = {slot: i for i, slot in enumerate(slots)}
    height = len(slots) * ROW_HEIGHT + AXIS_HEIGHT + 4
    out = [_svg_open(height, "Gantt chart of the run's tasks", total, scale, "gantt")]
    out.append(_time_axis(0, len(slots) * ROW_HEIGHT, total, scale))
    for slot, row in row_of.items():
        y = row * ROW_HEIGHT + ROW_HEIGHT / 2 + 4
        out.append(f'<text class="muted" x="4" y="{num(y)}">slot {slot + 1}</text>')
    for task in sorted(ran, key=lambda t: (t.record.start, t.record.slot)):
        rec = task.record
        x, width = _x(rec.start, scale), max(rec.duration * scale, 0.0)
        y = row_of[rec.slot] * ROW_HEIGHT + 3
        status = rec.status if rec.status in STATUSES else "failed"
        peak = format_bytes(rec.peak_rss) if rec.peak_rss else "no command"
        words = (
            f"{rec.name}: {_STATUS_LABELS.get(status, status)}, {format_duration(rec.duration)},"
            f" started at {format_duration(rec.start)}, peak memory {peak}"
        )
        if rec.name in critical:
            words += ", on the critical path"
        if task.message:
            words += f"; {task.message}"
        classes = "bar critical" if rec.name in critical else "bar"
        label = ""
        # A name is written on its bar only where it fits (about 7 units a character).
        if width > 7 * len(rec.name) + 8:
            label = f'<text x="{num(x + 4)}" y="{num(y + 12)}">{escape(rec.name)}</text>'
        out.append(
            f'<g class="{classes}" role="img" aria-label="{escape(words)}"'
            f' data-task="{escape(rec.name)}" data-status="{status}"'
            f' data-start="{rec.start!r}" data-duration="{rec.duration!r}">'
            f"<title>{escape(words)}</title>"
            f'<rect class="s-{status}" x="{num(x)}" y="{num(y)}" width="{num(width)}"'
            f' height="{ROW_HEIGHT - 6}" rx="2"/>{label}</g>'
        )
    out.append("</svg>")
    return "".join(out)


def _downsample(
    counters: list[tuple[float, float, int]],
) -> list[tuple[float, float, int]]:
    if len(counters) <= MAX_POINTS:
        return counters
    size = len(counters) / MAX_POINTS
    buckets = []
    for i in range(MAX_POINTS):
        chunk = counters[int(i * size) : int((i + 1) * size)] or [counters[-1]]
        buckets.append((chunk[0][0], max(c[1] for c in chunk), max(c[2] for c in chunk)))
    return buckets


def _series(
    points: list[tuple[float, float]],
    top: float,
    height: float,
    vmax: float,
    scale: float,
    kind: str,
) -> str:
    """An area and its outline: (seconds, value) steps from 0 up to vmax."""
    if not points:
        return ""

    def y(value: float) -> float:
        return top + height - min(value, vmax) / vmax * height

    coords = " ".join(f"{num(_x(t, scale))},{num(y(v))}" for t, v in points)
    base = num(top + height)
    first, last = num(_x(points[0][0], scale)), num(_x(points[-1][0], scale))
    return (
        f'<polygon class="area-{kind}" points="{first},{base} {coords} {last},{base}"/>'
        f'<polyline class="series line-{kind}" points="{coords}"/>'
    )


def _limit_line(value: float, top: float, height: float, vmax: float, label: str) -> str:
    y = num(top + height - value / vmax * height)
    right = WIDTH - RIGHT_PAD
    return (
        f'<line class="limit" x1="{LABEL_WIDTH}" y1="{y}" x2="{right}" y2="{y}"'
        f' data-value="{value!r}"><title>{escape(label)}</title></line>'
        f'<text class="muted" x="{right}" y="{num(float(y) - 4)}" text-anchor="end">'
        f"{escape(label)}</text>"
    )


def _counter_chart(
    kind: str,
    points: list[tuple[float, float]],
    limit: float,
    limit_label: str,
    unit_label: str,
    total: float,
    scale: float,
    extra: str = "",
) -> str:
    top, height = COUNTER_TOP, float(COUNTER_HEIGHT)
    peak = max((v for _, v in points), default=0.0)
    vmax = max(limit, peak, 1e-9) * 1.1
    out = [
        _svg_open(top + height + AXIS_HEIGHT, f"{kind} use over time", total, scale, kind),
        _time_axis(top, top + height, total, scale),
        f'<text class="muted" x="4" y="{num(top + 12)}">{escape(unit_label)}</text>',
        f'<g class="plot" data-top="{top!r}" data-height="{height!r}" data-vmax="{vmax!r}">',
        _series(points, top, height, vmax, scale, kind),
        _limit_line(limit, top, height, vmax, limit_label),
        extra,
        "</g></svg>",
    ]
    return "".join(out)


def _cpu_chart(
    counters: list[tuple[float, float, int]], cpus: float, total: float, scale: float
) -> str:
    points = [(t, pct / 100 * cpus) for t, pct, _ in counters]
    return _counter_chart("cpu", points, cpus, f"capacity {cpus:g} cores", "cores", total, scale)


def _memory_chart(
    counters: list[tuple[float, float, int]], report: RunReport, total: float, scale: float
) -> str:
    points = [(t, float(rss)) for t, _, rss in counters]
    top, height = COUNTER_TOP, float(COUNTER_HEIGHT)
    marks = []
    for task in report.tasks:
        rec = task.record
        if rec.status != "killed":
            continue
        # From the moment gotasks decided to kill it to the moment its processes were gone.
        decided = rec.end if task.stopped_at is None else min(task.stopped_at, rec.end)
        x, x_end = _x(decided, scale), _x(rec.end, scale)
        text = task.message or f"{rec.name}: killed"
        marks.append(
            f'<g class="kill-mark" data-task="{escape(rec.name)}" data-time="{decided!r}"'
            f' data-end="{rec.end!r}"><title>{escape(text)}</title>'
            f'<rect class="kill-span" x="{num(x)}" y="{num(top)}" width="{num(x_end - x)}"'
            f' height="{num(height)}"/>'
            f'<line class="kill" x1="{num(x)}" y1="{num(top)}" x2="{num(x)}"'
            f' y2="{num(top + height)}"/>'
            f'<text x="{num(x)}" y="{num(top + 24)}" text-anchor="end" dx="-4">'
            f"\u2715 {escape(rec.name)} killed</text></g>"
        )
    return _counter_chart(
        "mem",
        points,
        float(report.memory),
        f"quota {format_bytes(report.memory)}",
        "memory",
        total,
        scale,
        "".join(marks),
    )


def _claim(declared: float, learned: float | None, fmt: str) -> str:
    def show(value: float) -> str:
        return format_bytes(int(value)) if fmt == "bytes" else f"{value:.2g}"

    return show(declared) + (f" / {show(learned)}" if learned is not None else " / -")


def _table(tasks: Sequence[ReportTask], critical: set[str]) -> str:
    head = [
        ("task", False),
        ("status", False),
        ("start", True),
        ("time", True),
        ("peak memory", True),
        ("cores used", True),
        ("cpu claim (declared / learned)", True),
        ("memory claim (declared / learned)", True),
        ("memory limit", True),
        ("note", False),
    ]
    rows = []
    for task in tasks:
        rec = task.record
        ran = _ran(rec)
        cores = rec.cpu_seconds / rec.duration if rec.duration > 0.05 else 0.0
        status = _STATUS_LABELS.get(rec.status, rec.status)
        note = task.message or ("critical path" if rec.name in critical else "")
        rows.append(
            [
                Cell(rec.name),
                Cell(status, css=f"status s-{rec.status}-text"),
                Cell(format_duration(rec.start) if ran else "-", rec.start if ran else -1),
                Cell(format_duration(rec.duration) if ran else "-", rec.duration),
                Cell(format_bytes(rec.peak_rss) if rec.peak_rss else "-", rec.peak_rss),
                Cell(f"{cores:.1f}" if cores else "-", cores),
                Cell(_claim(task.cpu_declared, task.cpu_learned, "cores"), task.cpu_declared),
                Cell(_claim(task.mem_declared, task.mem_learned, "bytes"), task.mem_declared),
                Cell(format_bytes(task.mem_limit), task.mem_limit),
                Cell(note),
            ]
        )
    return sortable_table(head, rows)
