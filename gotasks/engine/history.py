"""Per task, what past runs measured (.gotasks/history.json): sharper estimates next run."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.files import StrPath, atomic_write_text, locked_beside
from gotasks.engine.historyfile import (
    MAX_CPU_SECONDS,
    MAX_DURATION,
    MAX_PEAK_RSS,
    Ages,
    Columns,
    columns_of,
    read,
    text,
)
from gotasks.engine.historyfile import (
    WINDOW as WINDOW,
)
from gotasks.engine.historyfile import (
    Sample as Sample,
)

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
# Samples are kept to a tenth of a millisecond: the file holds 100,000 of them, and json
# parses 17 digits of a float several times slower than 5.
DIGITS = 4


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
        self._tasks: dict[str, Columns] = {k: columns_of(v) for k, v in (samples or {}).items()}
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
        history = cls()
        try:
            if not path.exists() and not path.is_symlink():  # a dangling link is damage
                return history
            try:
                with locked_beside(path):
                    ages = Ages()
                    identity = _identity(path)
                    history._tasks = read(path, ages=ages)
                    unchanged = identity is not None and identity == _identity(path)
                if not path.exists():
                    # Set aside just now: its sound samples go into the next save.
                    history._pending = {n: c.samples() for n, c in history._tasks.items()}
                elif unchanged and identity is not None:
                    history._loaded = (identity, ages)
            except OSError:
                # No lock possible (a read-only checkout): still worth reading, never worth failing.
                history._tasks = read(path, keep_corrupt=False)
        except OSError:
            pass
        return history

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def samples(self, name: str) -> list[Sample]:
        found = self._tasks.get(name)
        return found.samples() if found else []

    def record(self, records: Iterable[TaskRecord]) -> None:
        for rec in records:
            if rec.status not in COUNTED_STATUSES:
                continue
            sample = Sample(
                duration=round(min(_non_negative(rec.duration), MAX_DURATION), DIGITS),
                peak_rss=min(max(0, int(rec.peak_rss)), MAX_PEAK_RSS),
                cpu_seconds=round(min(_non_negative(rec.cpu_seconds), MAX_CPU_SECONDS), DIGITS),
            )
            self.add(rec.name, sample)

    def add(self, name: str, sample: Sample) -> None:
        """One measurement under `name`: a task's, or a unit's of work (a package's tests)."""
        self._tasks[name] = self._tasks.get(name, _NONE).plus([sample])
        self._pending.setdefault(name, []).append(sample)

    def save(self, path: StrPath, durable: bool = True) -> None:
        """Merge this run's samples into the file under a lock; raises OSError if unwritable.
        `durable` False: without an fsync (core.files.atomic_write_text)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked_beside(path):
            if self._loaded is not None and self._loaded[0] == _identity(path):
                # Nobody wrote it since the load: what it holds is what was loaded, and
                # self._tasks is that plus this run's samples, already cut to WINDOW.
                ages = Ages(self._loaded[1].runs, dict(self._loaded[1].seen))
                merged = dict(self._tasks)
            else:
                ages = Ages()
                merged = read(path, ages=ages)
                for name, new in self._pending.items():
                    merged[name] = merged.get(name, _NONE).plus(new)
            runs = ages.runs + 1
            for name in self._pending:
                ages.seen[name] = runs
            # A task of a file written before "seen" was kept counts as seen now.
            seen = {name: ages.seen.get(name, runs) for name in merged}
            merged = {n: c for n, c in merged.items() if runs - seen[n] < FORGET_AFTER}
            atomic_write_text(path, text(merged, Ages(runs, seen)), durable=durable)
            identity = _identity(path)
        self._tasks = merged
        self._pending = {}
        self._loaded = (identity, Ages(runs, seen)) if identity is not None else None

    def estimate(self, name: str) -> Estimate | None:
        found = self._tasks.get(name)
        if not found:
            return None
        durations, peaks, cpu_seconds = found
        duration = median(durations)
        # A task whose memory grows run after run (more tests, bigger binaries) would be
        # underestimated by the median alone; the last run is the best guess of the next.
        peak_rss = max(int(median(peaks)), peaks[-1])
        ratios = [c / d for c, d in zip(cpu_seconds, durations, strict=True) if d > 0]
        # A high percentile, not the median: the scheduler may admit a task at this many
        # cores (below its claim), and a busy run of it should still fit in what it gets.
        cpus = max(MIN_CPUS, high_percentile(ratios)) if ratios else MIN_CPUS
        return Estimate(duration=duration, peak_rss=peak_rss, cpus=cpus)


_NONE = Columns([], [], [])


def history_text(samples: dict[str, list[Sample]], ages: Ages | None = None) -> str:
    """The history file's text for these samples (and `ages`: when each was last measured)."""
    return text({name: columns_of(kept) for name, kept in samples.items()}, ages or Ages())


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
        merged = read(path, ages=ages)
        for name, new in incoming.items():
            have = merged.get(name, _NONE).samples()
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
                merged[name] = columns_of([*have, *fresh])
        if added:
            atomic_write_text(path, text(merged, ages))
    return added, already


def median(values: list[float] | list[int]) -> float:
    """statistics.median, without its generic machinery (twice per task when a run of
    thousands is planned) or its import (decimal, fractions)."""
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


def _non_negative(value: float) -> float:
    return float(value) if math.isfinite(value) and value > 0 else 0.0
