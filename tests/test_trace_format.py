"""The run's Chrome trace against what Perfetto requires (tests/traceformat.py): the checker
catches each kind of malformed trace, and a 10,000-task run's trace has none of them."""

from __future__ import annotations

import copy
import heapq
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import traceformat

from gotasks.engine.history import TaskRecord
from gotasks.engine.trace import trace_document, write_trace

Doc = dict[str, Any]


def run_of(count: int, slots: int = 200, seed: int = 7) -> list[TaskRecord]:
    """Records as the runner makes them: each task on the lowest free slot (a heap), a slot
    free again only once its task ended; some tasks up to date (zero length)."""
    rng = random.Random(seed)
    free = list(range(slots))
    busy: list[tuple[float, int]] = []  # (end, slot)
    now, records = 0.0, []
    for i in range(count):
        if not free:
            now, slot = heapq.heappop(busy)
            heapq.heappush(free, slot)
            while busy and busy[0][0] <= now:  # the loop takes every task ended by then
                heapq.heappush(free, heapq.heappop(busy)[1])
        slot = heapq.heappop(free)
        start = now + rng.random() / 1e4
        end = start if i % 17 == 0 else start + rng.expovariate(1 / 0.05)
        heapq.heappush(busy, (end, slot))
        deps = tuple(f"t{d}" for d in rng.sample(range(i), min(i, 3)))
        records.append(
            TaskRecord(f"t{i}", "ok", start, end, slot, None, 0.01, 1 << 20, 0, 0.0, deps)
        )
    return records


def test_a_10000_task_trace_keeps_perfettos_rules(tmp_path: Path) -> None:
    records = run_of(10_000)
    counters = [(t / 10, 50.0, 100 << 20) for t in range(200)]
    path = tmp_path / "trace.json"
    write_trace(path, records, counters, 0.0, {"command": "inv all"})
    doc = json.loads(path.read_text())
    assert traceformat.problems(doc) == []
    assert sum(e["ph"] == "X" for e in doc["traceEvents"]) == 10_000
    assert path.stat().st_size < 10_000 * traceformat.MAX_BYTES_PER_TASK


def sound() -> Doc:
    return trace_document(run_of(50, slots=4), [(0.5, 10.0, 1 << 20)], 0.0, {})


def _x_events(doc: Doc) -> list[dict[str, Any]]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def _overlapping(doc: Doc) -> None:
    """A slice that begins inside another on its thread and ends after it."""
    on_slot_1 = [e for e in _x_events(doc) if e["tid"] == 1]
    first, later = on_slot_1[0], on_slot_1[1]
    first["dur"] = later["ts"] - first["ts"] + 1
    later["dur"] += 2


def _set(kind: str, key: str, value: object) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        next(e for e in doc["traceEvents"] if e["ph"] == kind)[key] = value

    return change


MALFORMED: dict[str, Callable[[Doc], None]] = {
    "overlap": _overlapping,
    "pid-string": _set("X", "pid", "1"),
    "tid-missing": lambda doc: _x_events(doc)[0].pop("tid"),
    "ts-negative": _set("X", "ts", -5),
    "dur-missing": lambda doc: _x_events(doc)[0].pop("dur"),
    "name-missing": lambda doc: _x_events(doc)[0].pop("name"),
    "counter-text": _set("C", "args", {"cpu": "50%"}),
    "unknown-phase": _set("X", "ph", "Q"),
    "thread-unnamed": lambda doc: doc["traceEvents"].remove(
        next(e for e in doc["traceEvents"] if e["name"] == "thread_name")
    ),
    "no-events": lambda doc: doc.pop("traceEvents"),
    "time-unit": lambda doc: doc.update(displayTimeUnit="s"),
}


def test_the_sound_trace_passes() -> None:
    assert traceformat.problems(sound()) == []


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_the_checker_finds_each_kind_of_malformed_trace(kind: str) -> None:
    doc = copy.deepcopy(sound())
    MALFORMED[kind](doc)
    assert traceformat.problems(doc), kind
