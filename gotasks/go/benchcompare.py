"""Compare an old and a new Go benchmark run the way benchstat does (the table is
go/benchtable.py; running benchstat itself, go/benchstat.py).

The statistics follow golang.org/x/perf/benchmath's AssumeNothing (benchstat's default):
medians, a two-sided Mann-Whitney U test at alpha 0.05, the same exact/normal switch-over
and the same "need >= N samples" warning, so a verdict here matches benchstat's.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from gotasks.go.benchfmt import BenchKey, BenchResult, group
from gotasks.go.mannwhitney import ALPHA, mann_whitney_u, samples_needed

__all__ = [
    "Comparison",
    "Geomean",
    "Row",
    "Unpaired",
    "compare",
]

ALL_EQUAL_NOTE = "all samples are equal"


@dataclass(frozen=True, slots=True)
class Row:
    """One (pkg, name, unit) measured in both runs."""

    pkg: str
    name: str
    unit: str
    old_median: float
    new_median: float
    old_n: int
    new_n: int
    delta_pct: float | None  # change of the medians; None when old is 0 and new is not
    p_value: float
    significant: bool  # p <= alpha; when False benchstat shows the delta as "~"
    note: str  # why a difference could not be detected ("" when there is nothing to say)


@dataclass(frozen=True, slots=True)
class Unpaired:
    """A (pkg, name, unit) measured in one run only."""

    pkg: str
    name: str
    unit: str
    median: float
    n: int


@dataclass(frozen=True, slots=True)
class Geomean:
    """Geometric means of one unit over the benchmarks measured in both runs."""

    unit: str
    old: float | None  # None when a median is <= 0, where a geomean is undefined
    new: float | None
    delta_pct: float | None  # from the geomean of the per-benchmark ratios, as benchstat does
    n: int  # how many benchmarks went in
    note: str


@dataclass(frozen=True, slots=True)
class Comparison:
    rows: list[Row]
    only_old: list[Unpaired]
    only_new: list[Unpaired]
    geomeans: list[Geomean]
    alpha: float


def _delta_pct(old: float, new: float) -> float | None:
    if old == new:
        return 0.0
    if old == 0:
        return None
    return (new / old - 1) * 100


def _compare_samples(
    key: BenchKey, unit: str, xs: list[float], ys: list[float], alpha: float
) -> Row:
    old_med, new_med = statistics.median(xs), statistics.median(ys)
    test = mann_whitney_u(xs, ys)
    significant = test.p <= alpha  # benchstat's FormatDelta prints "~" only when p > alpha
    note = ""
    if len(set(xs) | set(ys)) == 1:
        note = ALL_EQUAL_NOTE
    elif not significant:
        need = samples_needed(alpha)
        # As benchstat: warn only when neither side could ever show a difference.
        if len(xs) < need and len(ys) < need:
            note = f"need >= {need} samples to detect a difference at alpha level {alpha}"
    return Row(
        pkg=key[0],
        name=key[1],
        unit=unit,
        old_median=old_med,
        new_median=new_med,
        old_n=len(xs),
        new_n=len(ys),
        delta_pct=_delta_pct(old_med, new_med),
        p_value=test.p,
        significant=significant,
        note=note,
    )


def _geomean_of(values: list[float]) -> float | None:
    if not values or any(v <= 0 for v in values):
        return None
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def _geomean(unit: str, rows: list[Row], partial: bool) -> Geomean:
    notes: list[str] = []
    old = _geomean_of([r.old_median for r in rows])
    new = _geomean_of([r.new_median for r in rows])
    if old is None or new is None:
        notes.append("summaries must be >0 to compute geomean")
    # benchstat takes the geomean of the ratios (0/0 counting as 1), so a unit such as
    # allocs/op that is 0 somewhere still gets a delta.
    ratios: list[float] = []
    for r in rows:
        if r.old_median == r.new_median:
            ratios.append(1.0)
        elif r.old_median == 0:
            break
        else:
            ratios.append(r.new_median / r.old_median)
    ratio = _geomean_of(ratios) if len(ratios) == len(rows) else None
    if ratio is None:
        notes.append("ratios must be >0 to compute geomean")
    if partial:
        notes.append("benchmarks in only one run are left out of the geomean")
    return Geomean(
        unit=unit,
        old=old,
        new=new,
        delta_pct=None if ratio is None else (ratio - 1) * 100,
        n=len(rows),
        note="; ".join(notes),
    )


def compare(old: list[BenchResult], new: list[BenchResult], alpha: float = ALPHA) -> Comparison:
    """Compare every (pkg, name, unit) of two runs; rows keep the order of the old run."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], not {alpha}")
    old_groups, new_groups = group(old), group(new)
    rows: list[Row] = []
    only_old: list[Unpaired] = []
    only_new: list[Unpaired] = []
    for key, samples in old_groups.items():
        theirs = new_groups.get(key, {})
        for unit, xs in samples.items():
            ys = theirs.get(unit)
            if ys is None:
                only_old.append(Unpaired(key[0], key[1], unit, statistics.median(xs), len(xs)))
            else:
                rows.append(_compare_samples(key, unit, xs, ys, alpha))
    for key, samples in new_groups.items():
        ours = old_groups.get(key, {})
        for unit, ys in samples.items():
            if unit not in ours:
                only_new.append(Unpaired(key[0], key[1], unit, statistics.median(ys), len(ys)))

    unpaired_units = {u.unit for u in only_old} | {u.unit for u in only_new}
    by_unit: dict[str, list[Row]] = {}
    for row in rows:
        by_unit.setdefault(row.unit, []).append(row)
    geomeans = [_geomean(unit, rs, unit in unpaired_units) for unit, rs in by_unit.items()]
    return Comparison(rows, only_old, only_new, geomeans, alpha)
