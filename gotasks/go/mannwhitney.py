"""The two-sided Mann-Whitney U test as golang.org/x/perf/benchmath runs it for benchstat:
the same exact/normal switch-over and ties handling, so p-values match benchstat's; and how
many samples a run needs before a difference can show at all."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

ALPHA = 0.05
# go-moremath's MannWhitneyExactLimit and MannWhitneyTiesExactLimit: past these sample sizes
# benchstat switches to the normal approximation, so we do too to give the same p-values.
EXACT_LIMIT = 50
EXACT_TIES_LIMIT = 25


@dataclass(frozen=True, slots=True)
class UTest:
    """The result of a two-sided Mann-Whitney U test."""

    u: float  # U statistic of the first sample
    p: float
    exact: bool  # exact distribution (with ties) rather than the normal approximation


def _tie_groups(x: Sequence[float], y: Sequence[float]) -> list[tuple[int, int, int]]:
    """Group the pooled, sorted values into runs of equal values.

    Each group is (size, how many came from x, twice its mid-rank); ranks are doubled so
    mid-ranks of ties (e.g. 2.5) stay integers and the exact arithmetic stays in ints.
    """
    pooled = sorted([(v, 1) for v in x] + [(v, 0) for v in y])
    groups: list[tuple[int, int, int]] = []
    i = 0
    while i < len(pooled):
        j = i
        from_x = 0
        while j < len(pooled) and pooled[j][0] == pooled[i][0]:
            from_x += pooled[j][1]
            j += 1
        size = j - i
        groups.append((size, from_x, 2 * i + size + 1))
        i = j
    return groups


def _exact_p(groups: list[tuple[int, int, int]], n1: int, n2: int, twice_u1: int) -> float:
    """Two-sided p from the exact permutation distribution of U, conditional on the ties.

    p = 2 * P(U' on the observed side of the mean is at least as extreme as observed).
    benchstat (go-moremath) always takes that tail from the first sample's U, which is the
    same while the distribution is symmetric (no ties, or a symmetric tie pattern); with
    lopsided ties it can then report p = 0 (e.g. 19 values against 1), so we take the tail
    of the sample whose U is smaller instead.
    """
    if twice_u1 == n1 * n2:
        return 1.0  # U1 == U2: the observed U sits at the centre
    # Track the sample with the smaller U: its lower tail is the observed extreme tail.
    if twice_u1 < n1 * n2:
        m, twice_small = n1, twice_u1
    else:
        m, twice_small = n2, 2 * n1 * n2 - twice_u1
    if len(groups) == n1 + n2:
        return min(1.0, 2 * _u_lower_tail_no_ties(n1, n2, twice_small // 2))
    limit = twice_small + m * (m + 1)  # the largest doubled rank sum with U <= U_small
    # ways[c][s]: weighted count of ways to give c of the m values doubled rank sum s.
    ways: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(m)]
    for size, _, twice_rank in groups:
        nxt: list[dict[int, int]] = [{} for _ in range(m + 1)]
        for c, sums in enumerate(ways):
            for s, w in sums.items():
                for j in range(min(size, m - c) + 1):
                    s2 = s + j * twice_rank
                    if s2 > limit:
                        break  # sums only grow from here
                    nxt[c + j][s2] = nxt[c + j].get(s2, 0) + w * comb(size, j)
        ways = nxt
    hits = sum(ways[m].values())
    return min(1.0, 2 * hits / comb(n1 + n2, m))


def _u_lower_tail_no_ties(n1: int, n2: int, u: int) -> float:
    """P(U <= u) without ties, from the Gaussian binomial coefficient [n1+n2 choose n1]_q.

    Its coefficient of q^k counts the orderings with U = k, and it is the product over
    i = 1..n1 of (1 - q^(n2+i)) / (1 - q^i); coefficients above u never feed back into
    lower ones, so the polynomial is cut at degree u. This is O(n1 * u), where the general
    tie-aware table above takes seconds at 50 values a side.
    """
    coef = [1] + [0] * u
    for i in range(1, n1 + 1):
        for k in range(u, n2 + i - 1, -1):  # times (1 - q^(n2+i))
            coef[k] -= coef[k - n2 - i]
        for k in range(i, u + 1):  # divided by (1 - q^i)
            coef[k] += coef[k - i]
    return sum(coef) / comb(n1 + n2, n1)


def _normal_p(groups: list[tuple[int, int, int]], n1: int, n2: int, u1: float) -> float:
    """Two-sided p from the normal approximation with tie and continuity corrections."""
    n = n1 + n2
    ties = sum(t**3 - t for t, _, _ in groups)
    sigma = math.sqrt(n1 * n2 * ((n + 1) - ties / (n * (n - 1))) / 12)
    if sigma == 0:
        return 1.0
    numer = u1 - n1 * n2 / 2
    if numer:
        numer -= math.copysign(0.5, numer)
    # 2 * min(Phi(z), 1 - Phi(z)), without the cancellation of 1 - Phi for large z.
    return min(1.0, math.erfc(abs(numer / sigma) / math.sqrt(2)))


def mann_whitney_u(x: Sequence[float], y: Sequence[float], *, exact: bool | None = None) -> UTest:
    """Two-sided Mann-Whitney U test of whether x and y come from different distributions.

    exact=None chooses as benchstat does: the exact distribution while each sample has at
    most 50 values (25 when there are ties), the normal approximation beyond. When every
    value is equal there is no evidence of a difference and p is 1.
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney U test needs at least one value in each sample")
    groups = _tie_groups(x, y)
    twice_u1 = sum(from_x * twice_rank for _, from_x, twice_rank in groups) - n1 * (n1 + 1)
    u1 = twice_u1 / 2
    if len(groups) == 1:
        return UTest(u1, 1.0, True)
    if exact is None:
        limit = EXACT_TIES_LIMIT if len(groups) < n1 + n2 else EXACT_LIMIT
        exact = n1 <= limit and n2 <= limit
    if exact:
        return UTest(u1, _exact_p(groups, n1, n2, twice_u1), True)
    return UTest(u1, _normal_p(groups, n1, n2, u1), False)


def samples_needed(alpha: float = ALPHA) -> int:
    """The fewest samples per side with which the U test can ever reach p <= alpha.

    With n values on each side the smallest two-sided p is 2 / C(2n, n) (complete
    separation): 1 for n=1, 0.333 for 2, 0.1 for 3, 0.0286 for 4, so 4 at alpha 0.05.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, not {alpha}")
    n = 1
    while 2 / comb(2 * n, n) > alpha:
        n += 1
    return n


# --- comparison --------------------------------------------------------------------------
