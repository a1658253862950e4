"""Chrome trace files of a run (Perfetto, chrome://tracing) and its critical path."""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gotasks.core.files import StrPath, atomic_write_text
from gotasks.core.scrub import scrub_json
from gotasks.core.units import format_bytes
from gotasks.engine.history import TaskRecord

PID = 1
CPU_TRACK = "CPU %"
MEMORY_TRACK = "memory MiB"
_US = 1_000_000
DEPS_SHOWN = 20  # dependencies named in a task's event; deps_count says how many in all
_MIB = 1024**2


# How late after a task ended another may start and still count as having waited for it:
# the scheduler starts what is ready within its loop's tick (0.1 s), a loaded machine later.
WAITED_SLACK = 0.15


def critical_path(records: Sequence[TaskRecord]) -> list[str]:
    """Names from the first task to the last-finishing one, through what held each one up.

    At each step back, what a task waited for is the task that ended last before it started:
    a dependency it needed, or, when it had to wait for room on the machine (its deps done
    long before), the task whose end made room. A dependency is preferred when it ended as
    late. The tasks on this chain are the ones whose speed set the run's length.
    """
    by_name = {r.name: r for r in records}
    if not by_name:
        return []
    # By end, and among equal ends the earlier record last: a walk back from the right
    # finds what max() over the records in their order would (a step is a bisect, not a
    # scan of every task: the chain of 10,000 tasks is thousands of steps long).
    order = sorted(enumerate(by_name.values()), key=lambda item: (item[1].end, -item[0]))
    by_end = [record for _, record in order]
    ends = [record.end for record in by_end]
    unseen = _Unseen(by_end)
    current: TaskRecord | None = by_end[-1]
    path: list[str] = []
    seen: set[str] = set()
    # The graph is acyclic, but records are data: a cycle in them must not hang the report.
    while current is not None and current.name not in seen:
        seen.add(current.name)
        unseen.remove(current.name)
        path.append(current.name)
        current = _waited_for(current, by_name, ends, unseen, seen)
    path.reverse()
    return path


class _Unseen:
    """The records by end not on the path yet: the last of them ending by a time, found
    without stepping over the path's own records one by one (on a flat graph of 10,000
    tasks the path is thousands of steps long, and a scan past it at every step made the
    walk quadratic: 0.8 s of a 10,000-task run)."""

    def __init__(self, by_end: list[TaskRecord]) -> None:
        self.by_end = by_end
        self.index = {record.name: i for i, record in enumerate(by_end)}
        # left[i]: where to look next from i; a removed i points one to its left (path
        # halving on the way keeps every look-up near constant).
        self.left = list(range(len(by_end)))

    def remove(self, name: str) -> None:
        i = self.index.get(name)
        if i is not None:
            self.left[i] = i - 1

    def last_by(self, i: int) -> TaskRecord | None:
        """The last record at or left of index i not removed."""
        left = self.left
        while i >= 0 and left[i] != i:
            nxt = left[i]
            if nxt >= 0:
                left[i] = left[nxt]  # halve the path for the next look-up
            i = nxt
        return self.by_end[i] if i >= 0 else None


def _waited_for(
    task: TaskRecord,
    by_name: dict[str, TaskRecord],
    ends: list[float],
    unseen: _Unseen,
    seen: set[str],
) -> TaskRecord | None:
    # The last record to end by then that is not on the path yet.
    last = unseen.last_by(bisect.bisect_right(ends, task.start + WAITED_SLACK) - 1)
    deps = [by_name[d] for d in task.deps if d in by_name and by_name[d].name not in seen]
    last_dep = max(deps, key=lambda r: r.end) if deps else None
    if last_dep is not None and (last is None or last_dep.end >= last.end - WAITED_SLACK):
        return last_dep
    if last is None or task.start - last.end > WAITED_SLACK or task.start <= WAITED_SLACK:
        return last_dep  # nothing ended just before it started: it waited for nothing of ours
    return last


def write_trace(
    path: StrPath,
    records: list[TaskRecord],
    counters: list[tuple[float, float, int]],
    run_start_unix: float,
    meta: dict[str, str],
) -> None:
    """Write the run as a Chrome trace: one track per slot, CPU and memory counters.

    `counters` are (seconds since start, CPU percent of capacity, RSS bytes) samples.
    """
    # Task names and details are the run's own words: the known secrets are hidden.
    doc = scrub_json(trace_document(records, counters, run_start_unix, meta))
    events = ",\n".join(json.dumps(e, allow_nan=False) for e in doc["traceEvents"])
    # One event a line: still one JSON object, but greppable and diffable by a person.
    text = (
        '{"traceEvents": [\n'
        + events
        + '\n],\n"displayTimeUnit": "ms",\n"otherData": '
        + json.dumps(doc["otherData"])
        + "}\n"
    )
    atomic_write_text(path, text)


def trace_document(
    records: Sequence[TaskRecord],
    counters: Iterable[tuple[float, float, int]],
    run_start_unix: float,
    meta: dict[str, str],
) -> dict[str, Any]:
    """The trace as a JSON-ready object (what write_trace writes)."""
    critical = set(critical_path(records))
    events: list[dict[str, Any]] = [_metadata("process_name", 0, "gotasks")]
    # A cluster run: a process track per worker, after this machine's.
    pids = {where: PID + 1 + i for i, where in enumerate(sorted({r.where for r in records} - {""}))}
    pids[""] = PID
    for where, pid in pids.items():
        if where:
            events.append({**_metadata("process_name", 0, f"worker {where}"), "pid": pid})
    for slot in sorted({r.slot for r in records}):
        events.append(_metadata("thread_name", slot + 1, f"slot {slot + 1}"))
        # Without a sort index viewers order tracks by first event, not by slot number.
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": PID,
                "tid": slot + 1,
                "args": {"sort_index": slot + 1},
            }
        )
    for rec in sorted(records, key=lambda r: (r.start, r.slot)):
        ts = _us(rec.start)
        events.append(
            {
                "name": rec.name,
                "cat": rec.pool or "task",
                "ph": "X",
                "ts": ts,
                "dur": max(0, _us(rec.end) - ts),
                "pid": pids[rec.where],
                "tid": rec.slot + 1,
                "args": {
                    "status": rec.status,
                    "pool": rec.pool,
                    "cpu_claim": _num(rec.cpu_claim),
                    "mem_claim": rec.mem_claim,
                    "mem_claim_human": format_bytes(rec.mem_claim),
                    "peak_rss": rec.peak_rss,
                    "peak_rss_human": format_bytes(rec.peak_rss),
                    "cpu_seconds": _num(rec.cpu_seconds),
                    # A parent of thousands would make one event of megabytes.
                    "deps": list(rec.deps[:DEPS_SHOWN]),
                    "deps_count": len(rec.deps),
                    "critical": rec.name in critical,
                    **({"worker": rec.where} if rec.where else {}),
                },
            }
        )
    for t, cpu_percent, rss in sorted(counters):
        ts = _us(t)
        events.append(_counter(CPU_TRACK, ts, "cpu", round(_num(cpu_percent), 1)))
        events.append(_counter(MEMORY_TRACK, ts, "rss", round(max(0, rss) / _MIB, 1)))
    started = datetime.fromtimestamp(run_start_unix, UTC).isoformat(timespec="milliseconds")
    # The events' ts count from the run's start; this anchors them to the wall clock.
    other = {"run_start": started.replace("+00:00", "Z"), **meta}
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}


def wall_seconds(doc: Any) -> float | None:
    """How long the traced run's tasks took from its start to the last one's end (None:
    not a trace of a run)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return None
    ends = [
        e["ts"] + e["dur"]
        for e in doc["traceEvents"]
        if isinstance(e, dict)
        and e.get("ph") == "X"
        and isinstance(e.get("ts"), int | float)
        and isinstance(e.get("dur"), int | float)
    ]
    return max(ends, default=0) / _US


def _metadata(kind: str, tid: int, name: str) -> dict[str, Any]:
    return {"name": kind, "ph": "M", "pid": PID, "tid": tid, "args": {"name": name}}


def _counter(track: str, ts: int, key: str, value: float) -> dict[str, Any]:
    return {"name": track, "ph": "C", "pid": PID, "ts": ts, "args": {key: value}}


def _us(seconds: float) -> int:
    return round(_num(seconds) * _US)


def _num(value: float) -> float:
    # json with allow_nan=False refuses NaN and infinity, which no viewer could show anyway.
    return float(value) if math.isfinite(value) and value > 0 else 0.0
