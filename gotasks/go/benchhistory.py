"""Saved benchmark runs as a history: each benchmark's value per run, and where it changed."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gotasks.go.benchcompare import compare
from gotasks.go.benchfmt import BenchResult, parse
from gotasks.go.mannwhitney import ALPHA


@dataclass(frozen=True)
class SavedRun:
    """One saved `inv bench` run (.gotasks/bench/<env>/<module>/<commit>[-dirty].txt)."""

    path: Path
    commit: str  # the full hash, or "unknown"
    dirty: bool
    go: str
    results: list[BenchResult]
    mtime: float

    @property
    def label(self) -> str:
        """abc123def456, abc123def456-dirty, abc123def456~prev: as the file is named."""
        return self.path.stem


@dataclass(frozen=True)
class Point:
    run: int  # index into the ordered runs
    median: float
    low: float  # the spread: the smallest and largest sample of the run
    high: float
    n: int


@dataclass(frozen=True)
class Change:
    """A significant change of the median from the run before (Mann-Whitney U)."""

    run: int
    delta_pct: float
    p_value: float


@dataclass(frozen=True)
class Series:
    pkg: str
    name: str
    unit: str
    points: list[Point]
    changes: list[Change]


def load_runs(folder: Path) -> tuple[list[SavedRun], list[str]]:
    """The saved runs in `folder`, and a line for each file that could not be read."""
    runs: list[SavedRun] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file():  # a FIFO or a dangling link must not hang or stop the report
            problems.append(f"{path}: not a regular file; left out")
            continue
        try:
            results = parse(path.read_text(encoding="utf-8", errors="replace"))
            mtime = path.stat().st_mtime
        except OSError as error:
            problems.append(f"{path}: {error.strerror}; left out")
            continue
        if not results:
            problems.append(f"{path}: no benchmark results; left out")
            continue
        config = results[0].config
        runs.append(
            SavedRun(
                path=path,
                commit=config.get("commit", "unknown"),
                dirty=config.get("dirty") == "true",
                go=config.get("go", "unknown"),
                results=results,
                mtime=mtime,
            )
        )
    return runs, problems


def ordered(
    runs: Sequence[SavedRun], commit_date: Callable[[str], datetime | None]
) -> list[SavedRun]:
    """In order of their commits' dates; runs of one commit (clean, dirty, ~prev) by when
    they were saved; runs whose commit git does not know come last, by when saved."""

    def key(run: SavedRun) -> tuple[int, float, float]:
        when = commit_date(run.commit)
        if when is None:
            return (1, 0.0, run.mtime)
        return (0, when.timestamp(), run.mtime)

    return sorted(runs, key=key)


def history(runs: Sequence[SavedRun], alpha: float = ALPHA) -> list[Series]:
    """Per (package, benchmark, unit): its value in each run that measured it, and each
    significant change from the previous run that did."""
    order: list[tuple[str, str, str]] = []
    points: dict[tuple[str, str, str], list[Point]] = {}
    for index, run in enumerate(runs):
        samples: dict[tuple[str, str, str], list[float]] = {}
        for result in run.results:
            for unit, value in result.values.items():
                samples.setdefault((result.pkg, result.name, unit), []).append(value)
        for key, values in samples.items():
            if key not in points:
                order.append(key)
            points.setdefault(key, []).append(
                Point(index, statistics.median(values), min(values), max(values), len(values))
            )
    changes: dict[tuple[str, str, str], list[Change]] = {}
    for before, after in zip(range(len(runs)), range(1, len(runs)), strict=False):
        for row in compare(runs[before].results, runs[after].results, alpha).rows:
            if row.significant and row.delta_pct is not None and row.delta_pct != 0:
                key = (row.pkg, row.name, row.unit)
                changes.setdefault(key, []).append(Change(after, row.delta_pct, row.p_value))
    return [Series(key[0], key[1], key[2], points[key], changes.get(key, [])) for key in order]
