"""Per task, what past runs measured (.gotasks/history.json): sharper estimates next run."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from gotasks.core import console
from gotasks.core.files import (
    NotRegularFile,
    StrPath,
    atomic_write_text,
    locked_beside,
    read_regular_bytes,
    set_aside,
)
from gotasks.core.scrub import scrub_json

FORMAT_VERSION = 1
# Enough runs to outvote one slow outlier, few enough to follow a task that changes.
WINDOW = 10
# A task no run has measured in this many saves is gone from the project (renamed, its
# module removed): dropped, so a monorepo's history does not only ever grow.
FORGET_AFTER = 200
# Failed runs still measured real work (a failing test suite runs nearly in full);
# skipped, killed, timed-out and interrupted runs stopped early and would understate it.
# A task killed for its memory did use what it peaked at: the next run must know it.
COUNTED_STATUSES = frozenset({"ok", "failed", "killed"})
MIN_CPUS = 0.1
# Which share of a task's past runs its learned CPU use covers (see Estimate.cpus).
CPU_PERCENTILE = 0.9
# What a sample may hold: anything past these is a damaged file, not a measurement (a
# peak_rss of 1e308 would overflow every estimate made from it).
MAX_DURATION = 7 * 24 * 3600.0
MAX_PEAK_RSS = 2**50  # 1 PiB
MAX_CPU_SECONDS = MAX_DURATION * 1024


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A finished task, as the scheduler saw it; feeds the history, the trace and the summary."""

    name: str
    status: str  # "ok", "failed", "skipped", "killed", "timeout", "interrupted"
    start: float  # seconds since the run started (monotonic)
    end: float
    slot: int  # the concurrent slot (track) it ran on: 0, 1, 2...
    pool: str | None
    cpu_claim: float  # cores declared or estimated
    mem_claim: int  # bytes declared or estimated
    peak_rss: int  # bytes, peak of the task's process tree (0 if it ran no command)
    cpu_seconds: float  # CPU time of its process tree
    deps: tuple[str, ...]  # the tasks it waited for
    where: str = ""  # the cluster worker it ran on; "": this machine

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


class Sample(NamedTuple):
    """One past run of a task (a tuple: a monorepo's history holds 100,000 of them)."""

    duration: float
    peak_rss: int
    cpu_seconds: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "duration": self.duration,
            "peak_rss": self.peak_rss,
            "cpu_seconds": self.cpu_seconds,
        }


@dataclass(frozen=True)
class Estimate:
    """What the next run of a task will likely take: seconds (median), bytes at peak (the
    larger of the median and the last run), cores (90th percentile of cores used, at least
    MIN_CPUS)."""

    duration: float
    peak_rss: int
    cpus: float


class History:
    """Per task name, the last WINDOW samples; `save` merges with what other runs wrote."""

    def __init__(self, samples: dict[str, list[Sample]] | None = None) -> None:
        self._samples: dict[str, list[Sample]] = {k: list(v) for k, v in (samples or {}).items()}
        # Only what this run measured is written back: samples another run saved since our
        # load are on disk already, and re-adding ours from the load would double them.
        self._pending: dict[str, list[Sample]] = {}
        # The file as loaded (its identity, and its run counts): when no other run wrote it
        # since, a save merges from memory instead of parsing it again.
        self._loaded: tuple[tuple[int, int, int], Ages] | None = None

    @classmethod
    def load(cls, path: StrPath) -> History:
        """The history at path; missing, empty or of another version: empty. A damaged file
        is set aside (one warning) and its sound samples written back by the next save."""
        path = Path(path)
        try:
            if not path.exists() and not path.is_symlink():  # a dangling link is damage
                return cls()
            try:
                with locked_beside(path):
                    ages = Ages()
                    identity = _identity(path)
                    samples = _read(path, ages=ages)
                    unchanged = identity is not None and identity == _identity(path)
                history = cls(samples)
                if not path.exists():
                    # Set aside just now: its sound samples go into the next save.
                    history._pending = {name: list(kept) for name, kept in samples.items()}
                elif unchanged and identity is not None:
                    history._loaded = (identity, ages)
                return history
            except OSError:
                # No lock possible (a read-only checkout): still worth reading, never worth failing.
                return cls(_read(path, keep_corrupt=False))
        except OSError:
            return cls()

    def names(self) -> list[str]:
        return sorted(self._samples)

    def samples(self, name: str) -> list[Sample]:
        return list(self._samples.get(name, ()))

    def record(self, records: Iterable[TaskRecord]) -> None:
        for rec in records:
            if rec.status not in COUNTED_STATUSES:
                continue
            sample = Sample(
                duration=min(_non_negative(rec.duration), MAX_DURATION),
                peak_rss=min(max(0, int(rec.peak_rss)), MAX_PEAK_RSS),
                cpu_seconds=min(_non_negative(rec.cpu_seconds), MAX_CPU_SECONDS),
            )
            self.add(rec.name, sample)

    def add(self, name: str, sample: Sample) -> None:
        """One measurement under `name`: a task's, or a unit's of work (a package's tests)."""
        self._samples[name] = [*self._samples.get(name, []), sample][-WINDOW:]
        self._pending.setdefault(name, []).append(sample)

    def save(self, path: StrPath) -> None:
        """Merge this run's samples into the file under a lock; raises OSError if unwritable."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked_beside(path):
            if self._loaded is not None and self._loaded[0] == _identity(path):
                # Nobody wrote it since the load: what it holds is what was loaded, and
                # self._samples is that plus this run's samples, already cut to WINDOW.
                ages = Ages(self._loaded[1].runs, dict(self._loaded[1].seen))
                merged = dict(self._samples)
            else:
                ages = Ages()
                merged = _read(path, ages=ages)
                for name, new in self._pending.items():
                    merged[name] = [*merged.get(name, []), *new][-WINDOW:]
            runs = ages.runs + 1
            for name in self._pending:
                ages.seen[name] = runs
            # A task of a file written before "seen" was kept counts as seen now.
            seen = {name: ages.seen.get(name, runs) for name in merged}
            merged = {n: s for n, s in merged.items() if runs - seen[n] < FORGET_AFTER}
            atomic_write_text(path, history_text(merged, Ages(runs, seen)))
            identity = _identity(path)
        self._samples = merged
        self._pending = {}
        self._loaded = (identity, Ages(runs, seen)) if identity is not None else None

    def estimate(self, name: str) -> Estimate | None:
        samples = self._samples.get(name)
        if not samples:
            return None
        duration = _median([s.duration for s in samples])
        # A task whose memory grows run after run (more tests, bigger binaries) would be
        # underestimated by the median alone; the last run is the best guess of the next.
        peak_rss = max(int(_median([s.peak_rss for s in samples])), samples[-1].peak_rss)
        ratios = [s.cpu_seconds / s.duration for s in samples if s.duration > 0]
        # A high percentile, not the median: the scheduler may admit a task at this many
        # cores (below its claim), and a busy run of it should still fit in what it gets.
        cpus = max(MIN_CPUS, high_percentile(ratios)) if ratios else MIN_CPUS
        return Estimate(duration=duration, peak_rss=peak_rss, cpus=cpus)


def history_text(samples: dict[str, list[Sample]], ages: Ages | None = None) -> str:
    """The history file's text for these samples (and `ages`: when each was last measured):
    JSON with a line per task."""
    names = sorted(samples)
    # Task names are the run's own words: the known secrets are hidden (samples are numbers).
    shown = {name: scrub_json(name) for name in names}
    parts = [f'{{"version": {FORMAT_VERSION}']
    if ages is not None:
        parts.append(f'"runs": {ages.runs}')
        seen = {shown[n]: ages.seen.get(n, ages.runs) for n in names}
        parts.append('"seen": ' + _one_a_line(seen, ", "))
    tasks = {shown[n]: [s.to_json() for s in samples[n]] for n in names}
    parts.append('"tasks": ' + _one_a_line(tasks, "], "))
    return ",\n".join(parts) + "}\n"


def _one_a_line(members: dict[str, Any], between: str) -> str:
    """A JSON object, a member a line. Written whole by json's C encoder (its indented
    writer is pure Python: seconds for a monorepo's 10,000 tasks). `between`, followed by
    a quote, is what it writes between two members and nowhere inside one (a quote in a
    name is escaped; the values are numbers, or lists of objects of numbers)."""
    if not members:
        return "{}"
    inner = json.dumps(members, allow_nan=False)[1:-1]
    return "{\n " + inner.replace(between + '"', between.rstrip() + '\n "') + "\n}"


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is written again (it is replaced whole, atomically)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def merge_into(path: StrPath, incoming: dict[str, list[Sample]]) -> tuple[int, int]:
    """Add samples from elsewhere (another machine's export) to the history at path, under
    its lock, atomically: (added, already there). A sample the history holds already is
    not added again, so importing what was exported from here, or the same file twice,
    changes nothing; the newest WINDOW samples are kept."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    added = already = 0
    with locked_beside(path):
        ages = Ages()
        merged = _read(path, ages=ages)
        for name, new in incoming.items():
            have = merged.get(name, [])
            unmatched = Counter(have)
            fresh = []
            for sample in new:
                if unmatched[sample] > 0:
                    unmatched[sample] -= 1
                    already += 1
                else:
                    fresh.append(sample)
            added += len(fresh)
            if fresh:
                merged[name] = [*have, *fresh][-WINDOW:]
        if added:
            atomic_write_text(path, history_text(merged, ages))
    return added, already


def _median(values: list[float] | list[int]) -> float:
    """statistics.median, without its generic machinery (twice per task when a run of
    thousands is planned)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def high_percentile(values: Iterable[float], share: float = CPU_PERCENTILE) -> float:
    """The nearest-rank percentile: the smallest value at or above `share` of them (with
    ten samples the 90th is the second largest, with fewer the largest)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Ages:
    """How many runs saved the file, and the last of them that measured each task."""

    runs: int = 0
    seen: dict[str, int] = field(default_factory=dict)


def _read(
    path: Path, keep_corrupt: bool = True, ages: Ages | None = None
) -> dict[str, list[Sample]]:
    """The samples in the file; a damaged file is set aside (kept_corrupt) with one warning,
    keeping whatever samples in it are sound, so that no run ever fails on it again. `ages`
    gets the file's run counts (unsound ones are ignored: they only decide forgetting)."""
    try:
        raw = read_regular_bytes(path)
    except FileNotFoundError:
        return {}
    except NotRegularFile as error:
        _quarantine(path, error.strerror or "not a regular file", keep_corrupt)
        return {}
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        doc = None
    if not isinstance(doc, dict) or (
        doc.get("version") == FORMAT_VERSION and not isinstance(doc.get("tasks"), dict)
    ):
        _quarantine(path, "not a history file", keep_corrupt)
        return {}
    if doc.get("version") != FORMAT_VERSION:
        return {}
    tasks: dict[str, list[Sample]] = {}
    invalid = 0
    for name, entries in doc["tasks"].items():
        parsed = [
            sample_from_json(entry) for entry in (entries if isinstance(entries, list) else [None])
        ]
        invalid += parsed.count(None)
        samples = [s for s in parsed if s is not None]
        if samples:
            tasks[name] = samples[-WINDOW:]
    if invalid:
        _quarantine(path, f"{invalid} invalid sample(s)", keep_corrupt)
    if ages is not None:
        runs, seen = doc.get("runs"), doc.get("seen")
        if isinstance(runs, int) and not isinstance(runs, bool) and runs >= 0:
            ages.runs = runs
            if isinstance(seen, dict):
                ages.seen = {
                    name: run
                    for name, run in seen.items()
                    if isinstance(run, int) and not isinstance(run, bool) and 0 <= run <= runs
                }
    return tasks


def _quarantine(path: Path, reason: str, move: bool) -> None:
    """Kept for a look at what went wrong, under a name no run reads; the next save starts
    afresh beside it. Without the lock (move=False) nothing is moved, only said."""
    if not move:
        console.warn(f"{path}: {reason}; ignored")
        return
    set_aside(path, reason, unmoved="ignored", kept=", its sound samples kept")


def sample_from_json(entry: Any) -> Sample | None:
    """A sample as the file holds it, or None when it is not a sound one: each a finite
    number (bool is not one here) from 0 to its limit. (Inline, no call per number: a
    monorepo's history holds 100,000 samples.)"""
    if not isinstance(entry, dict):
        return None
    duration: Any = entry.get("duration")
    peak_rss: Any = entry.get("peak_rss")
    cpu_seconds: Any = entry.get("cpu_seconds")
    # Compared before any conversion: NaN compares false, infinity and an int too big for a
    # float are past the limit.
    if (
        type(duration) in _NUMBERS
        and type(peak_rss) in _NUMBERS
        and type(cpu_seconds) in _NUMBERS
        and 0 <= duration <= MAX_DURATION
        and 0 <= peak_rss <= MAX_PEAK_RSS
        and 0 <= cpu_seconds <= MAX_CPU_SECONDS
    ):
        return Sample(float(duration), int(float(peak_rss)), float(cpu_seconds))
    return None


_NUMBERS = (int, float)  # the types json gives numbers (exactly: a bool is an int subclass)


def _non_negative(value: float) -> float:
    return float(value) if math.isfinite(value) and value > 0 else 0.0
