"""Gate a benchmark comparison: each benchmark's spread, and a verdict a CI job can trust.

A difference is only worth its name when the samples behind it are tight: on a loaded
machine identical code can come out "+83% p=0.015". So each side's spread is measured (the
interquartile range relative to the median), and with a threshold a comparison whose spread
is larger than the threshold is inconclusive, never a pass or a regression.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from gotasks.go.benchcompare import Comparison
from gotasks.go.benchfmt import BenchResult, group, short_name

__all__ = ["TIME_UNITS", "Verdict", "format_verdicts", "judge", "spread_pct"]

# What "slower" is measured in: go test's time per operation.
TIME_UNITS = ("ns/op", "sec/op")

REGRESSION = "regression"
INCONCLUSIVE = "inconclusive"


def spread_pct(values: Sequence[float]) -> float | None:
    """The interquartile range as a percentage of the median; None with fewer than two
    values (one sample says nothing about noise)."""
    if len(values) < 2:
        return None
    median = statistics.median(values)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    if median == 0:
        return 0.0 if q1 == q3 else float("inf")
    return (q3 - q1) / abs(median) * 100


@dataclass(frozen=True, slots=True)
class Verdict:
    pkg: str
    name: str
    unit: str
    delta_pct: float | None
    p_value: float
    significant: bool
    old_spread: float | None
    new_spread: float | None
    outcome: str  # "regression", "inconclusive", "slower", "faster", "ok"
    why: str  # what the outcome rests on, for the line after it


def _spread_text(spread: float | None) -> str:
    return "?" if spread is None else f"±{spread:.1f}%"


def judge(
    comparison: Comparison,
    old: list[BenchResult],
    new: list[BenchResult],
    fail_on: float | None,
) -> list[Verdict]:
    """A verdict for every time-per-op row of the comparison.

    With `fail_on` (a percentage): inconclusive when either side's spread is above it (or
    unmeasured), else a regression when the change is significant and slower by more than
    it. Without: the change as benchstat would say it, with the spreads beside it.
    """
    old_samples, new_samples = group(old), group(new)
    verdicts: list[Verdict] = []
    for row in comparison.rows:
        if row.unit not in TIME_UNITS:
            continue
        key = (row.pkg, row.name)
        spreads = (
            spread_pct(old_samples.get(key, {}).get(row.unit, [])),
            spread_pct(new_samples.get(key, {}).get(row.unit, [])),
        )
        delta = row.delta_pct
        slower = row.significant and (delta is None or delta > 0)
        faster = row.significant and delta is not None and delta < 0
        outcome, why = ("slower" if slower else "faster" if faster else "ok"), ""
        if fail_on is not None:
            noisy = [s for s in spreads if s is None or s > fail_on]
            if noisy:
                shown = " / ".join(_spread_text(s) for s in spreads)
                outcome = INCONCLUSIVE
                why = f"noisy: spread {shown} is more than the {fail_on:g}% threshold"
            elif slower and (delta is None or delta > fail_on):
                outcome, why = REGRESSION, f"slower by more than {fail_on:g}%"
            else:
                outcome = "ok"
                if slower:
                    why = f"slower, within {fail_on:g}%"
        verdicts.append(
            Verdict(
                row.pkg,
                row.name,
                row.unit,
                delta,
                row.p_value,
                row.significant,
                spreads[0],
                spreads[1],
                outcome,
                why,
            )
        )
    return verdicts


def format_verdicts(verdicts: list[Verdict]) -> list[str]:
    """One line per benchmark: name, change, p, each side's spread, and the verdict."""
    lines = []
    width = max((len(short_name(v.name)) for v in verdicts), default=0)
    for v in verdicts:
        delta = "?" if v.delta_pct is None else f"{v.delta_pct:+.2f}%"
        spreads = f"spread {_spread_text(v.old_spread)} / {_spread_text(v.new_spread)}"
        outcome = f"{v.outcome} ({v.why})" if v.why else v.outcome
        name = short_name(v.name).ljust(width)
        lines.append(f"{name}  {delta:>9}  p={v.p_value:.3f}  {spreads}  {outcome}")
    return lines
