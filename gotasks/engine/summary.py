"""The table printed at the end of a run: per task its result, time, memory, cores used and
CPU claim (declared, and what it was admitted at), then the critical path with each time."""

from __future__ import annotations

from collections.abc import Sequence

from gotasks.core import console
from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.history import TaskRecord
from gotasks.engine.trace import critical_path


def cores(value: float) -> str:
    """2, 0.5, 0.25: a core count as short as it is exact to two places."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def claim_text(declared: float, admitted: float) -> str:
    """`2` when the task was admitted at its claim, `2>0.6` when history lowered it."""
    if abs(admitted - declared) < 0.005:
        return cores(declared)
    return f"{cores(declared)}>{cores(admitted)}"


def summary_lines(records: Sequence[TaskRecord], declared_cpus: Sequence[float]) -> list[str]:
    """The summary table (`declared_cpus`: each record's declared cores, in order)."""
    ran = [r for r in records if r.status != "skipped" and r.end > 0]
    lines = ["", console.paint("summary", "dim")]
    claims = [claim_text(d, r.cpu_claim) for r, d in zip(records, declared_cpus, strict=True)]
    width = max((len(r.name) for r in records), default=4)
    claim_width = max(5, *(len(c) for c in claims))
    lines.append(
        f"  {'task':<{width}}  status  {'time':>7}  {'peak mem':>8}  {'cpu':>5}"
        f"  {'claim':>{claim_width}}"
    )
    for r, claim in zip(records, claims, strict=True):
        used = f"{r.cpu_seconds / r.duration:.1f}" if r.duration > 0.05 else "-"
        peak = format_bytes(r.peak_rss) if r.peak_rss else "-"
        time_ = format_duration(r.duration) if r in ran else "-"
        lines.append(
            f"  {r.name:<{width}}  {console.status_mark(r.status)}    {time_:>7}"
            f"  {peak:>8}  {used:>5}  {claim:>{claim_width}}"
        )
    path = critical_path_line(ran)
    if path:
        lines.append(path)
    fresh = sum(r.status == "uptodate" for r in records)
    if fresh:
        ran_count = sum(r.status not in ("uptodate", "skipped") for r in records)
        lines.append(f"{ran_count} ran, {fresh} up to date (--force runs them)")
    return lines


def critical_path_line(ran: Sequence[TaskRecord]) -> str | None:
    """`critical path (1.8s): test[a] 0.3s -> build[a] 1.0s -> ci 7ms`: the chain of tasks
    that set the run's length, each waiting for the one before it (see critical_path)."""
    by_name = {r.name: r for r in ran}
    path = critical_path(ran)
    if not path:
        return None
    total = max(r.end for r in ran) - min(r.start for r in ran)
    steps = " -> ".join(f"{name} {format_duration(by_name[name].duration)}" for name in path)
    return f"critical path ({format_duration(total)}): {steps}"
