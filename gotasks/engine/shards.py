"""CI shards: which units of work run in shard I of N, balanced by what they cost.

Pure data, no Go: a unit is a name ("test[hello] ./stats") with a cost in seconds. The
split is greedy and deterministic, so every shard computes the same one from the same
inputs: units sorted by (-cost, name), each given to the shard with the smallest total
(ties: fewer units, then the lower index). A plan written once (`inv shard.plan`) lets
shards with different histories agree; a plan older than the code still covers every
current unit exactly once (`reconcile`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.core.files import read_regular_text
from gotasks.engine.history import high_percentile, median

PLAN_KIND = "gotasks shard plan"
PLAN_VERSION = 1
PERCENTILE = 85  # a unit's cost: this percentile of its recorded durations
UNKNOWN_WHEN_NOTHING_KNOWN = 1.0  # seconds: all units alike, split by count
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
_IN_NAME = re.compile(r"\.shard-(\d+)-of-(\d+)(?=\.|$)")


@dataclass(frozen=True)
class ShardSpec:
    """Shard `index` (from 1) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, source: str = "--shard") -> ShardSpec:
        """ "2/4" -> ShardSpec(2, 4); anything else is one line naming `source`."""
        match = _SPEC.fullmatch(text)
        if not match:
            raise UsageError(f"{source}: expected I/N such as 2/4 (shard I of N), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise UsageError(f"{source} {text}: the number of shards must be 1 or more")
        if not 1 <= index <= count:
            raise UsageError(
                f"{source} {text}: shards are numbered from 1 to {count} (1/{count} to"
                f" {count}/{count})"
            )
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def tag(self) -> str:
        """What a shard's files carry in their names: "shard-2-of-4"."""
        return f"shard-{self.index}-of-{self.count}"


def shard_path(path: str, spec: ShardSpec | None) -> str:
    """reports/junit.xml -> reports/junit.shard-2-of-4.xml: each shard's own file, so that
    the shards' artifacts can sit in one folder. No spec: the path as it is."""
    if spec is None:
        return path
    folder, slash, name = path.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    named = f"{stem}.{spec.tag}.{suffix}" if dot and stem else f"{name}.{spec.tag}"
    return f"{folder}{slash}{named}"


def shard_in_name(name: str) -> ShardSpec | None:
    """The shard a file name says it belongs to (see shard_path), if any."""
    match = _IN_NAME.search(name)
    if not match:
        return None
    index, count = int(match.group(1)), int(match.group(2))
    return ShardSpec(index, count) if 1 <= index <= count else None


@dataclass(frozen=True)
class Unit:
    """A unit of work and what it is expected to cost; `known`: learned from history."""

    name: str
    cost: float
    known: bool = True


def costed(names: Iterable[str], durations: Mapping[str, Sequence[float]]) -> list[Unit]:
    """Each unit's cost: the 85th percentile (nearest rank) of its recorded durations (two
    slow runs in ten count, one does not); a unit never measured costs the median of the known
    ones (all alike when none is known)."""
    names = list(dict.fromkeys(names))
    known = {n: high_percentile(durations[n], PERCENTILE / 100) for n in names if durations.get(n)}
    guess = median(list(known.values())) if known else UNKNOWN_WHEN_NOTHING_KNOWN
    return [Unit(n, known[n], True) if n in known else Unit(n, guess, False) for n in names]


@dataclass
class ShardPlan:
    """shards[i]: the units of shard i+1, in the order they were given to it."""

    shards: list[list[Unit]]

    @property
    def count(self) -> int:
        return len(self.shards)

    def expected(self, index: int) -> float:
        """Shard `index` (from 1): the sum of its units' costs."""
        return sum(u.cost for u in self.shards[index - 1])

    def total(self) -> float:
        return sum(self.expected(i) for i in range(1, self.count + 1))

    def units(self, index: int) -> list[Unit]:
        return list(self.shards[index - 1])

    def names(self, index: int) -> list[str]:
        return [u.name for u in self.shards[index - 1]]

    def shard_of(self) -> dict[str, int]:
        return {u.name: i for i, shard in enumerate(self.shards, 1) for u in shard}

    def imbalance(self) -> float:
        return imbalance([self.expected(i) for i in range(1, self.count + 1)])


def _lightest(shards: list[list[Unit]], totals: list[float]) -> int:
    # Smallest total; ties: fewer units, then the lower index.
    return min(range(len(shards)), key=lambda i: (totals[i], len(shards[i]), i))


def _place(units: Iterable[Unit], shards: list[list[Unit]]) -> None:
    totals = [sum(u.cost for u in shard) for shard in shards]
    for unit in sorted(units, key=lambda u: (-u.cost, u.name)):
        i = _lightest(shards, totals)
        shards[i].append(unit)
        totals[i] += unit.cost


def split(units: Iterable[Unit], count: int) -> ShardPlan:
    """The greedy split of `units` over `count` shards (see the module's docstring)."""
    if count < 1:
        raise ValueError("count must be 1 or more")
    shards: list[list[Unit]] = [[] for _ in range(count)]
    _place(units, shards)
    return ShardPlan(shards)


@dataclass(frozen=True)
class Reconciled:
    plan: ShardPlan
    added: list[tuple[str, int]]  # (unit, the shard it went to): not in the plan
    removed: list[str]  # in the plan, gone from the code


def reconcile(plan: ShardPlan, current: Iterable[str]) -> Reconciled:
    """The plan, fitted to the units there are now: a unit that is gone is dropped; a new
    one goes to the lightest shard, costing the median of the plan's units (the plan's own
    numbers, so every shard places it alike whatever its history says). Every current unit
    ends up in exactly one shard."""
    wanted = list(dict.fromkeys(current))
    present = set(wanted)
    planned = plan.shard_of()
    shards = [[u for u in shard if u.name in present] for shard in plan.shards]
    removed = sorted(name for name in planned if name not in present)
    new = [name for name in wanted if name not in planned]
    costs = [u.cost for shard in plan.shards for u in shard]
    guess = median(costs) if costs else UNKNOWN_WHEN_NOTHING_KNOWN
    _place((Unit(name, guess, False) for name in new), shards)
    result = ShardPlan(shards)
    where = result.shard_of()
    return Reconciled(result, [(name, where[name]) for name in sorted(new)], removed)


def imbalance(times: Sequence[float]) -> float:
    """max / mean: 1.0 is a perfect split (and so is nothing at all)."""
    if not times or sum(times) <= 0:
        return 1.0
    return max(times) / (sum(times) / len(times))


# -- the plan file ----------------------------------------------------------------------


def plan_document(plan: ShardPlan) -> dict[str, Any]:
    return {
        "kind": PLAN_KIND,
        "version": PLAN_VERSION,
        "shards": [
            {
                "shard": i,
                "expected_seconds": round(plan.expected(i), 3),
                "units": [
                    {"name": u.name, "seconds": round(u.cost, 3), "learned": u.known}
                    for u in plan.units(i)
                ],
            }
            for i in range(1, plan.count + 1)
        ],
    }


def plan_json(plan: ShardPlan) -> str:
    return json.dumps(plan_document(plan), indent=1) + "\n"


def github_matrix(plan: ShardPlan) -> str:
    """A GitHub Actions matrix, one entry per shard: `inv ci --shard ${{ matrix.shard }}`."""
    include = [
        {
            "shard": f"{i}/{plan.count}",
            "units": plan.names(i),
            "expected_seconds": round(plan.expected(i), 3),
        }
        for i in range(1, plan.count + 1)
    ]
    return json.dumps({"include": include}, separators=(",", ":")) + "\n"


def read_plan(path: Path) -> ShardPlan:
    """The plan in the file `inv shard.plan` wrote; anything else is one line (exit 2)."""
    try:
        text = read_regular_text(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such shard plan (write one with inv shard.plan)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the shard plan: {error}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}:{error.lineno}: not a shard plan: not JSON ({error.msg})"
        ) from None
    except RecursionError:
        raise UsageError(f"{path}: not a shard plan: nested too deep") from None
    return parse_plan(doc, str(path))


def parse_plan(doc: Any, where: str) -> ShardPlan:
    def bad(why: str) -> UsageError:
        return UsageError(f"{where}: not a shard plan (inv shard.plan writes one): {why}")

    if not isinstance(doc, dict) or doc.get("kind") != PLAN_KIND:
        raise bad(f'no "kind": "{PLAN_KIND}"')
    if doc.get("version") != PLAN_VERSION:
        raise bad(f"version {doc.get('version')!r}; this gotasks reads version {PLAN_VERSION}")
    entries = doc.get("shards")
    if not isinstance(entries, list) or not entries:
        raise bad('"shards" must be a non-empty list')
    shards: list[list[Unit]] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or entry.get("shard") != i:
            raise bad(f"shards[{i - 1}] must be an object with shard: {i}")
        units = entry.get("units")
        if not isinstance(units, list):
            raise bad(f"shards[{i - 1}].units must be a list")
        shard = []
        for j, unit in enumerate(units):
            key = f"shards[{i - 1}].units[{j}]"
            if not isinstance(unit, dict) or not isinstance(unit.get("name"), str):
                raise bad(f"{key} must be an object with a name")
            seconds = unit.get("seconds")
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds < 0
            ):
                raise bad(f"{key}.seconds must be a number of seconds, 0 or more")
            name = unit["name"]
            if name in seen:
                raise bad(f"{name!r} is in shard {seen[name]} and shard {i}")
            seen[name] = i
            shard.append(Unit(name, float(seconds), unit.get("learned") is not False))
        shards.append(shard)
    return ShardPlan(shards)
