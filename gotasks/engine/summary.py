"""The table printed at the end of a run: per task its result, time, memory, cores used and
CPU claim (declared, and what it was admitted at), then the critical path with each time."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence

from gotasks.core import console
from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.history import TaskRecord
from gotasks.engine.trace import critical_path

# A run of up to this many tasks shows them all; a bigger one, by default, only those that
# did not succeed, the SLOWEST slowest that did, and counts for the rest.
SHORT_SUMMARY_ALL = 20
SLOWEST = 10
SKIPS_SHOWN = 10
GOOD = frozenset({"ok", "uptodate"})
PATH_STEPS = 12  # steps of the critical path named; the rest counted


def cores(value: float) -> str:
    """2, 0.5, 0.25: a core count as short as it is exact to two places."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def claim_text(declared: float, admitted: float) -> str:
    """`2` when the task was admitted at its claim, `2>0.6` when history lowered it."""
    if abs(admitted - declared) < 0.005:
        return cores(declared)
    return f"{cores(declared)}>{cores(admitted)}"


def summary_lines(
    records: Sequence[TaskRecord], declared_cpus: Sequence[float], full: bool = True
) -> list[str]:
    """The summary table (`declared_cpus`: each record's declared cores, in order). Not
    `full`, a run of many tasks shows every task that did not succeed, the slowest that
    did, and counts the rest."""
    ran = [r for r in records if r.status != "skipped" and r.end > 0]
    ran_ids = {id(r) for r in ran}
    lines = ["", console.paint("summary", "dim")]
    shown = range(len(records)) if full else _short_rows(records)
    kept = set(shown)
    hidden = Counter(r.status for i, r in enumerate(records) if i not in kept)
    records = [records[i] for i in shown]
    declared_cpus = [declared_cpus[i] for i in shown]
    claims = [claim_text(d, r.cpu_claim) for r, d in zip(records, declared_cpus, strict=True)]
    width = max((len(r.name) for r in records), default=4)
    claim_width = max(5, *(len(c) for c in claims))
    # A cluster run names each task's worker (a column only then: a local run's table
    # stays as it was).
    workers = any(r.where for r in records)
    lines.append(
        f"  {'task':<{width}}  status  {'time':>7}  {'peak mem':>8}  {'cpu':>5}"
        f"  {'claim':>{claim_width}}" + ("  worker" if workers else "")
    )
    for r, claim in zip(records, claims, strict=True):
        used = f"{r.cpu_seconds / r.duration:.1f}" if r.duration > 0.05 else "-"
        peak = format_bytes(r.peak_rss) if r.peak_rss else "-"
        time_ = format_duration(r.duration) if id(r) in ran_ids else "-"
        lines.append(
            f"  {r.name:<{width}}  {console.status_mark(r.status)}    {time_:>7}"
            f"  {peak:>8}  {used:>5}  {claim:>{claim_width}}"
            + (f"  {r.where or 'here'}" if workers else "")
        )
    if hidden:
        counts = ", ".join(f"{n:,} {status}" for status, n in sorted(hidden.items()))
        lines.append(f"  and {counts} more (--summary full lists every task)")
    path = critical_path_line(ran)
    if path:
        lines.append(path)
    fresh = sum(r.status == "uptodate" for r in records)
    if fresh:
        ran_count = sum(r.status not in ("uptodate", "skipped") for r in records)
        lines.append(f"{ran_count} ran, {fresh} up to date (--force runs them)")
    return lines


def _short_rows(records: Sequence[TaskRecord]) -> Sequence[int]:
    """The rows of a short summary, in run order: all of a small run; of a big one, every
    task that failed (or was killed, timed out, interrupted), the first skipped ones and
    the slowest that succeeded."""
    if len(records) <= SHORT_SUMMARY_ALL:
        return range(len(records))
    good = [i for i, r in enumerate(records) if r.status in GOOD]
    slowest = heapq.nlargest(SLOWEST, good, key=lambda i: records[i].duration)
    bad = [i for i, r in enumerate(records) if r.status not in GOOD and r.status != "skipped"]
    # What did not run says why on its own line; past SKIPS_SHOWN of them (a stop among
    # thousands of tasks), they are counted.
    skipped = [i for i, r in enumerate(records) if r.status == "skipped"][:SKIPS_SHOWN]
    return sorted({*slowest, *bad, *skipped})


def critical_path_line(ran: Sequence[TaskRecord]) -> str | None:
    """`critical path (1.8s): test[a] 0.3s -> build[a] 1.0s -> ci 7ms`: the chain of tasks
    that set the run's length, each waiting for the one before it (see critical_path)."""
    by_name = {r.name: r for r in ran}
    path = critical_path(ran)
    if not path:
        return None
    total = max(r.end for r in ran) - min(r.start for r in ran)
    steps = [f"{name} {format_duration(by_name[name].duration)}" for name in path]
    if len(steps) > PATH_STEPS:
        # The ends say where the chain starts and what it leads to; its length is counted.
        head, tail = PATH_STEPS // 3, PATH_STEPS - PATH_STEPS // 3
        steps = [*steps[:head], f"({len(steps) - head - tail:,} more)", *steps[-tail:]]
    steps_text = " -> ".join(steps)
    return f"critical path ({format_duration(total)}): {steps_text}"
