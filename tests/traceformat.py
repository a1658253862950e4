"""What Perfetto requires of a Chrome JSON trace, as a checker the tests run on gotasks' traces.

ui.perfetto.dev and its trace_processor cannot be had on this machine (the `perfetto` package
downloads trace_processor_shell from the internet on first use), so the rules are taken from
Perfetto's own words and checked here:

- docs/getting-started/other-formats.md (Chrome JSON format): the JSON object or array of
  events with pid, tid, ts (microseconds), ph, name, cat, args; X (complete) events are
  slices, C counters, M metadata (process and thread names); duration events on a thread
  must nest, as the Trace Event Format spec mandates;
- google/perfetto#4280 and #6277: an X event that overlaps another on its thread without
  nesting in it is dropped on import (slice_drop_overlapping_complete_event) or moved to an
  overflow track: part of the run would be missing or misplaced;
- google/perfetto#99 and trace-viewer#627: the browser, not the format, bounds the size
  (chrome://tracing failed past 256 MB); gotasks keeps a task's event near a kilobyte.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# The phases gotasks writes, and what each must hold beyond ph and name.
_NUMBER = (int, float)
MAX_BYTES_PER_TASK = 1024


def problems(doc: Any) -> list[str]:
    """Every way `doc` (a parsed trace) breaks those rules; [] for a sound trace."""
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not a JSON object with a traceEvents list"]
    found: list[str] = []
    if doc.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        found.append(f"displayTimeUnit {doc['displayTimeUnit']!r}: ms or ns")
    slices: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    named_threads: set[tuple[int, int]] = set()
    for i, event in enumerate(doc["traceEvents"]):
        where = f"event {i}"
        if not isinstance(event, dict):
            found.append(f"{where}: not an object")
            continue
        phase, name, pid = event.get("ph"), event.get("name"), event.get("pid")
        if not isinstance(name, str) or not name:
            found.append(f"{where}: no name")
        if type(pid) is not int:
            found.append(f"{where}: pid {pid!r} is not an integer")
            continue
        if phase == "X":
            ts, dur, tid = event.get("ts"), event.get("dur"), event.get("tid")
            if type(tid) is not int:
                found.append(f"{where}: tid {tid!r} is not an integer")
            elif not (isinstance(ts, _NUMBER) and isinstance(dur, _NUMBER)) or ts < 0 or dur < 0:
                found.append(f"{where}: ts {ts!r} and dur {dur!r}: numbers from 0")
            else:
                slices[pid, tid].append((ts, ts + dur, str(name)))
            if not isinstance(event.get("args", {}), dict):
                found.append(f"{where}: args is not an object")
        elif phase == "C":
            values = event.get("args")
            if not isinstance(event.get("ts"), _NUMBER) or event["ts"] < 0:
                found.append(f"{where}: counter without a ts")
            if not isinstance(values, dict) or not values:
                found.append(f"{where}: counter without values")
            elif not all(
                isinstance(v, _NUMBER) and not isinstance(v, bool) for v in values.values()
            ):
                found.append(f"{where}: counter values must be numbers: {values}")
        elif phase == "M":
            found += _metadata_problems(where, event, named_threads)
        else:
            found.append(f"{where}: phase {phase!r} (gotasks writes X, C and M)")
    for (pid, tid), spans in slices.items():
        found += _overlaps(pid, tid, spans)
        if (pid, tid) not in named_threads:
            found.append(f"pid {pid} tid {tid}: slices on a thread no thread_name names")
    return found


def _metadata_problems(where: str, event: dict[str, Any], named: set[tuple[int, int]]) -> list[str]:
    args = event.get("args")
    kind = event.get("name")
    if not isinstance(args, dict):
        return [f"{where}: metadata without args"]
    if kind in ("process_name", "thread_name"):
        if not isinstance(args.get("name"), str):
            return [f"{where}: {kind} without a name"]
        if kind == "thread_name":
            if type(event.get("tid")) is not int:
                return [f"{where}: thread_name without an integer tid"]
            named.add((event["pid"], event["tid"]))
        return []
    if kind in ("process_sort_index", "thread_sort_index"):
        return [] if type(args.get("sort_index")) is int else [f"{where}: {kind} not an int"]
    return [f"{where}: metadata {kind!r} Perfetto does not read"]


def _overlaps(pid: int, tid: int, spans: list[tuple[float, float, str]]) -> list[str]:
    """Slices on one thread must nest or follow one another: a stack of the open ones, in
    order of start (the longer first when two start together), as Perfetto reads them."""
    found = []
    open_ends: list[tuple[float, str]] = []
    for start, end, name in sorted(spans, key=lambda s: (s[0], -s[1])):
        while open_ends and open_ends[-1][0] <= start:
            open_ends.pop()
        if open_ends and end > open_ends[-1][0]:
            parent_end, parent = open_ends[-1]
            found.append(
                f"pid {pid} tid {tid}: {name} ({start}-{end} us) overlaps {parent}"
                f" (ends {parent_end} us) without nesting in it: Perfetto drops it"
            )
            continue
        open_ends.append((end, name))
    return found
