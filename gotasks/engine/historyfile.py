"""The history file's format (.gotasks/history.json): what a sample may hold, how the file
is read (the old format too) and written. engine/history.py keeps what it means."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, NamedTuple

from gotasks.core import console
from gotasks.core.files import NotRegularFile, read_regular_bytes, set_aside
from gotasks.core.scrub import scrub_json

# 2: a task's samples as three columns of numbers beside the run that last measured it
# (`"name": [seen, [durations], [peak_rss], [cpu_seconds]]`): a monorepo's 100,000 samples
# parse and check in a few C calls a task. 1 (a JSON object per sample) is still read,
# and written as 2 by the next save.
FORMAT_VERSION = 2
OLD_FORMAT_VERSION = 1
# Enough runs to outvote one slow outlier, few enough to follow a task that changes.
WINDOW = 10
# What a sample may hold: anything past these is a damaged file, not a measurement (a
# peak_rss of 1e308 would overflow every estimate made from it).
MAX_DURATION = 7 * 24 * 3600.0
MAX_PEAK_RSS = 2**50  # 1 PiB
MAX_CPU_SECONDS = MAX_DURATION * 1024


class Sample(NamedTuple):
    """One past run of a task."""

    duration: float
    peak_rss: int
    cpu_seconds: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "duration": self.duration,
            "peak_rss": self.peak_rss,
            "cpu_seconds": self.cpu_seconds,
        }


class Columns(NamedTuple):
    """A task's samples, oldest first, a list per measure (no object per sample: planning
    a monorepo reads 100,000 of them)."""

    durations: list[float]
    peak_rss: list[int]
    cpu_seconds: list[float]

    def samples(self) -> list[Sample]:
        return [Sample(*one) for one in zip(*self, strict=True)]

    def plus(self, samples: list[Sample]) -> Columns:
        """These samples after this task's, the newest WINDOW kept."""
        return Columns(
            (self.durations + [s.duration for s in samples])[-WINDOW:],
            (self.peak_rss + [s.peak_rss for s in samples])[-WINDOW:],
            (self.cpu_seconds + [s.cpu_seconds for s in samples])[-WINDOW:],
        )


def columns_of(samples: list[Sample]) -> Columns:
    kept = samples[-WINDOW:]
    return Columns(
        [s.duration for s in kept], [s.peak_rss for s in kept], [s.cpu_seconds for s in kept]
    )


@dataclass
class Ages:
    """How many runs saved the file, and the last of them that measured each task."""

    runs: int = 0
    seen: dict[str, int] = field(default_factory=dict)


def read(path: Path, keep_corrupt: bool = True, ages: Ages | None = None) -> dict[str, Columns]:
    """The samples in the file; a damaged file is set aside (keep_corrupt) with one warning,
    keeping whatever samples in it are sound, so that no run ever fails on it again. `ages`
    gets the file's run counts (unsound ones are ignored: they only decide forgetting). A
    file of another version (a newer gotasks') is empty, and left as it is."""
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
        # NaN and Infinity (json reads them) come as None: no sample holds one.
        doc = json.loads(raw, parse_constant=lambda _: None)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        doc = None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or (
        version in (FORMAT_VERSION, OLD_FORMAT_VERSION) and not isinstance(doc.get("tasks"), dict)
    ):
        _quarantine(path, "not a history file", keep_corrupt)
        return {}
    if version not in (FORMAT_VERSION, OLD_FORMAT_VERSION):
        return {}
    runs = doc.get("runs")
    runs = runs if type(runs) is int and runs >= 0 else None
    found = _read_current if version == FORMAT_VERSION else _read_old
    tasks, seen, invalid = found(doc, runs)
    if invalid:
        _quarantine(path, f"{invalid} invalid sample(s)", keep_corrupt)
    if ages is not None and runs is not None:
        ages.runs, ages.seen = runs, seen
    return tasks


def _read_current(
    doc: dict[str, Any], runs: int | None
) -> tuple[dict[str, Columns], dict[str, int], int]:
    tasks: dict[str, Columns] = {}
    seen: dict[str, int] = {}
    invalid = 0
    for name, entry in doc["tasks"].items():
        if type(entry) is not list or len(entry) != 4:
            invalid += 1
            continue
        when, durations, peaks, cpus = entry
        if _sound_columns(durations, peaks, cpus):
            if durations:
                tasks[name] = Columns(durations[-WINDOW:], peaks[-WINDOW:], cpus[-WINDOW:])
        elif (listed := triples(durations, peaks, cpus)) is None:
            invalid += 1
            continue
        else:  # the slow way, a sample at a time, keeping the sound ones
            kept = [s for s in (sound_sample(*t) for t in listed) if s is not None]
            invalid += len(listed) - len(kept)
            if kept:
                tasks[name] = columns_of(kept)
        if runs is not None and type(when) is int and 0 <= when <= runs:
            seen[name] = when
    return tasks, seen, invalid


def _sound_columns(durations: Any, peaks: Any, cpus: Any) -> bool:
    """Three lists of one length, every number in its range: checked by C loops (min, max,
    map) instead of a Python test per number. Peaks must be whole numbers here."""
    return (
        type(durations) is list
        and type(peaks) is list
        and type(cpus) is list
        and len(durations) == len(peaks) == len(cpus)
        and (
            not durations
            or (
                _NUMBERS.issuperset(map(type, durations))
                and _INTS.issuperset(map(type, peaks))
                and _NUMBERS.issuperset(map(type, cpus))
                and min(durations) >= 0
                and max(durations) <= MAX_DURATION
                and min(peaks) >= 0
                and max(peaks) <= MAX_PEAK_RSS
                and min(cpus) >= 0
                and max(cpus) <= MAX_CPU_SECONDS
            )
        )
    )


def triples(durations: Any, peaks: Any, cpus: Any) -> list[tuple[Any, Any, Any]] | None:
    """The samples of three columns, or None when they are not three lists of one length."""
    columns = (durations, peaks, cpus)
    if any(type(c) is not list for c in columns) or len({len(c) for c in columns}) != 1:
        return None
    return list(zip(durations, peaks, cpus, strict=True))


def _read_old(
    doc: dict[str, Any], runs: int | None
) -> tuple[dict[str, Columns], dict[str, int], int]:
    """Version 1: a JSON object per sample; the run that last measured each task in "seen"."""
    tasks: dict[str, Columns] = {}
    invalid = 0
    for name, listed in doc["tasks"].items():
        parsed = [sample_from_json(e) for e in (listed if isinstance(listed, list) else [None])]
        invalid += parsed.count(None)
        samples = [s for s in parsed if s is not None]
        if samples:
            tasks[name] = columns_of(samples)
    listed_seen = doc.get("seen")
    seen = {
        name: when
        for name, when in (listed_seen.items() if isinstance(listed_seen, dict) else ())
        if runs is not None and type(when) is int and 0 <= when <= runs
    }
    return tasks, seen, invalid


def sample_from_json(entry: Any) -> Sample | None:
    """A sample as version 1 (and an old export) holds it, or None when it is not sound."""
    if not isinstance(entry, dict):
        return None
    return sound_sample(entry.get("duration"), entry.get("peak_rss"), entry.get("cpu_seconds"))


def sound_sample(duration: Any, peak_rss: Any, cpu_seconds: Any) -> Sample | None:
    """The sample of these numbers, or None unless each is a finite number (bool is not one
    here) from 0 to its limit."""
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


# the types json gives numbers (exactly: a bool is an int subclass)
_NUMBERS = frozenset({int, float})
_INTS = frozenset({int})


def text(tasks: dict[str, Columns], ages: Ages) -> str:
    """The file's text: a line per task, `"name": [seen, [durations], [peaks], [cpus]]`.
    Each line by json's C encoder (its indented writer is pure Python: seconds for a
    monorepo's 10,000 tasks)."""
    # Task names are the run's own words: the known secrets are hidden (samples are numbers).
    encode = json.JSONEncoder(allow_nan=False, check_circular=False).encode
    lines = [
        f" {encode_basestring_ascii(scrub_json(name))}: "
        + encode([ages.seen.get(name, ages.runs), *tasks[name]])
        for name in sorted(tasks)
    ]
    body = ",\n".join(lines)
    return (
        f'{{"version": {FORMAT_VERSION}, "runs": {ages.runs}, "tasks": {{\n{body}\n}}}}\n'
        if lines
        else f'{{"version": {FORMAT_VERSION}, "runs": {ages.runs}, "tasks": {{}}}}\n'
    )


def _quarantine(path: Path, reason: str, move: bool) -> None:
    """Kept for a look at what went wrong, under a name no run reads; the next save starts
    afresh beside it. Without the lock (move=False) nothing is moved, only said."""
    if not move:
        console.warn(f"{path}: {reason}; ignored")
        return
    set_aside(path, reason, unmoved="ignored", kept=", its sound samples kept")
