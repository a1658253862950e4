"""The shard plan (pure): coverage exactly once, the greedy split, stale plans, the files."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from gotasks.core.errors import UsageError
from gotasks.engine.shards import (
    ShardPlan,
    ShardSpec,
    Unit,
    costed,
    github_matrix,
    imbalance,
    parse_plan,
    plan_document,
    plan_json,
    read_plan,
    reconcile,
    shard_in_name,
    shard_path,
    split,
)


def covered_once(plan: ShardPlan, names: list[str]) -> None:
    every = [u.name for i in range(1, plan.count + 1) for u in plan.units(i)]
    assert Counter(every) == Counter(set(names)), "each unit exactly once"


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 50])
def test_every_unit_is_in_exactly_one_shard_whatever_the_costs_and_count(
    seed: int, count: int
) -> None:
    rng = random.Random(seed)
    names = [f"test[m{rng.randrange(5)}] ./p{i}" for i in range(rng.randrange(0, 40))]
    durations = {n: [rng.uniform(0, 9) for _ in range(rng.randrange(0, 4))] for n in names}
    plan = split(costed(names, durations), count)
    assert plan.count == count
    covered_once(plan, names)


def test_the_greedy_split_of_known_durations_is_the_documented_one() -> None:
    units = [Unit(n, c) for n, c in [("a", 5), ("b", 4), ("c", 3), ("d", 3), ("e", 2), ("f", 1)]]
    plan = split(units, 3)
    # a->1 (5), b->2 (4), c->3 (3), d->3 (6), e->2 (6), f->1 (6)
    assert [plan.names(i) for i in (1, 2, 3)] == [["a", "f"], ["b", "e"], ["c", "d"]]
    assert [plan.expected(i) for i in (1, 2, 3)] == [6, 6, 6]
    assert plan.imbalance() == 1.0


def test_ties_go_to_fewer_units_then_the_lower_index_and_name_orders_equal_costs() -> None:
    # zero-cost units: the totals always tie, so the unit counts decide, then the index
    plan = split([Unit(n, 0.0) for n in "edcba"], 2)
    assert plan.names(1) == ["a", "c", "e"] and plan.names(2) == ["b", "d"]
    # the order the units come in does not matter: sorted by (-cost, name)
    again = split([Unit(n, 0.0) for n in "abcde"], 2)
    assert again.shards == plan.shards


def test_the_split_balances_a_skewed_set_far_better_than_by_count() -> None:
    costs = [9, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]
    units = [Unit(f"p{i:02}", c) for i, c in enumerate(costs)]
    learned = split(units, 4)
    by_count = [sum(costs[i : i + 4]) for i in range(0, 16, 4)]
    assert learned.imbalance() <= 1.05
    assert imbalance(by_count) > 1.8


def test_the_cost_is_the_85th_percentile_and_unknown_units_cost_the_median_of_known() -> None:
    once, twice = [1.0] * 9 + [11.0], [1.0] * 8 + [11.0, 11.0]
    units = costed(
        ["a", "b", "c", "d", "new"],
        {"a": once, "b": twice, "c": [2.0], "d": [6.0, 6.0], "gone": [99.0]},
    )
    by_name = {u.name: u for u in units}
    assert by_name["a"].cost == 1.0  # one slow run in ten does not count
    assert by_name["b"].cost == 11.0  # two do
    assert by_name["new"].cost == 4.0 and not by_name["new"].known  # median of 1, 2, 6, 11
    assert all(u.known for u in units if u.name != "new")
    # nothing known: all alike, so the split is by count
    assert {u.cost for u in costed(["x", "y"], {})} == {1.0}


def test_a_stale_plan_drops_removed_units_and_puts_new_ones_on_the_lightest_shard() -> None:
    plan = split([Unit("a", 8), Unit("b", 5), Unit("c", 4), Unit("d", 1)], 2)
    assert plan.names(1) == ["a", "d"] and plan.names(2) == ["b", "c"]
    fitted = reconcile(plan, ["a", "b", "d", "n1", "n2", "n3"])
    covered_once(fitted.plan, ["a", "b", "d", "n1", "n2", "n3"])
    assert fitted.removed == ["c"]
    # after c is gone shard 2 holds 5 against 9; new units cost the plan's median (4.5)
    assert dict(fitted.added) == {"n1": 2, "n2": 1, "n3": 2}
    assert fitted.plan.names(1) == ["a", "d", "n2"]
    # the units the plan knew stay where they were
    assert all(fitted.plan.shard_of()[n] == plan.shard_of()[n] for n in ("a", "b", "d"))


@pytest.mark.parametrize("seed", range(10))
def test_a_reconciled_plan_covers_any_current_set_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    old = [f"u{i}" for i in range(30)]
    plan = split(costed(old, {n: [rng.uniform(0, 5)] for n in old}), 4)
    now = rng.sample(old, 20) + [f"new{i}" for i in range(rng.randrange(0, 15))]
    covered_once(reconcile(plan, now).plan, now)


def test_the_plan_file_round_trips_and_the_matrix_lists_each_shard() -> None:
    plan = split(costed(["a", "b", "c"], {"a": [3.0], "b": [1.0]}), 2)
    back = parse_plan(json.loads(plan_json(plan)), "plan.json")
    assert back.shards == plan.shards
    matrix = json.loads(github_matrix(plan))
    assert matrix == {
        "include": [
            {"shard": "1/2", "units": ["a"], "expected_seconds": 3.0},
            # c, unknown, costs the median of the known (2.0): placed before b
            {"shard": "2/2", "units": ["c", "b"], "expected_seconds": 3.0},
        ]
    }
    assert plan_document(plan)["shards"][1]["units"][0] == {
        "name": "c",
        "seconds": 2.0,
        "learned": False,
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "plan.json:1: not a shard plan: not JSON"),
        ("[]", 'no "kind"'),
        ('{"kind": "gotasks shard plan", "version": 9, "shards": []}', "version 9"),
        ('{"kind": "gotasks shard plan", "version": 1, "shards": []}', "non-empty list"),
        (
            '{"kind": "gotasks shard plan", "version": 1, "shards": [{"shard": 2, "units": []}]}',
            "shard: 1",
        ),
        (
            '{"kind": "gotasks shard plan", "version": 1, "shards": [{"shard": 1,'
            ' "units": [{"name": "a", "seconds": -1}]}]}',
            "units[0].seconds",
        ),
        (
            '{"kind": "gotasks shard plan", "version": 1, "shards": [{"shard": 1, "units":'
            ' [{"name": "a", "seconds": 1}]},'
            ' {"shard": 2, "units": [{"name": "a", "seconds": 1}]}]}',
            "'a' is in shard 1 and shard 2",
        ),
    ],
)
def test_a_file_that_is_not_a_plan_is_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        read_plan(path)
    message = str(caught.value)
    assert says in message and "\n" not in message
    with pytest.raises(UsageError, match="no such shard plan"):
        read_plan(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0/4", "numbered from 1 to 4"),
        ("5/4", "numbered from 1 to 4"),
        ("x", "expected I/N"),
        ("2", "expected I/N"),
        ("1/0", "1 or more"),
        ("-1/4", "expected I/N"),
        ("", "expected I/N"),
    ],
)
def test_bad_shard_values_are_one_line(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        ShardSpec.parse(text, "--shard")


def test_shard_files_are_named_by_shard_and_the_name_reads_back() -> None:
    spec = ShardSpec.parse("2/4")
    assert shard_path("reports/junit.xml", spec) == "reports/junit.shard-2-of-4.xml"
    assert shard_path("trace", spec) == "trace.shard-2-of-4"
    assert shard_path(".gotasks/cover/hello.out", spec) == ".gotasks/cover/hello.shard-2-of-4.out"
    assert shard_path("a.json", None) == "a.json"
    assert shard_in_name("junit.shard-2-of-4.xml") == spec
    assert shard_in_name("hello.shard-2-of-4") == spec
    assert shard_in_name("junit.xml") is None
    assert shard_in_name("x.shard-5-of-4.xml") is None


def test_a_fifo_given_as_the_plan_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A plan path is the user's: a FIFO there is one line, never a run blocked on it."""
    import os

    from gotasks.core.errors import UsageError
    from gotasks.engine.shards import read_plan

    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="cannot read the shard plan"):
        read_plan(fifo)
