"""A run's graph narrowed to its shard (pure): each unit in one shard, tasks without units
left out with what waited for them still waiting for what they waited for."""

from __future__ import annotations

from typing import Any

import pytest
from invoke.config import Config
from invoke.tasks import Call, Task

from gotasks.core.errors import UsageError
from gotasks.engine.graph import Node, without
from gotasks.engine.plan import run_variable_problems
from gotasks.engine.run import RunOptions
from gotasks.engine.sharding import register_shardable, shard_graph


def _body(c: Any, unit: list[int] | None = None) -> None:
    """A task whose work splits into units."""


def _other(c: Any) -> None:
    """A task that does not split."""


SPLIT, OTHER = Task(_body, name="split"), Task(_other, name="other")
UNITS = {"split[a]": 3, "split[b]": 1, "split[c]": 2}


def _units(call: Call, config: Config) -> list[tuple[str, Any]]:
    name = call.kwargs["name"]
    return [(f"{name} u{k}", k) for k in range(UNITS[name])]


register_shardable(
    SPLIT, _units, lambda call, chosen: Call(call.task, kwargs={**call.kwargs, "unit": chosen})
)


def graph() -> list[Node]:
    # split[a], split[b], split[c], then `other` waiting for all three
    nodes = [Node(Call(SPLIT, kwargs={"name": n}), n) for n in UNITS]
    return [*nodes, Node(Call(OTHER), "other", {0, 1, 2})]


def test_every_unit_runs_in_exactly_one_of_the_shards() -> None:
    seen: list[str] = []
    for i in (1, 2, 3, 4):
        nodes = shard_graph(graph(), RunOptions(shard=f"{i}/4"), Config(), {})
        assert nodes[-1].name == "other"  # the task that does not split runs in every shard
        assert nodes[-1].deps == set(range(len(nodes) - 1))
        for node in nodes[:-1]:
            chosen = node.call.kwargs.get("unit") or range(UNITS[node.name])
            seen += [f"{node.name} u{k}" for k in chosen]
    assert sorted(seen) == sorted(f"{n} u{k}" for n, count in UNITS.items() for k in range(count))


def test_a_shard_without_units_runs_only_what_does_not_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nodes = shard_graph(graph(), RunOptions(shard="9/9"), Config(), {})
    assert [n.name for n in nodes] == ["other"] and nodes[0].deps == set()
    assert "shard 9/9: no units in this shard (6 units in all): passes" in capsys.readouterr().out


def test_without_keeps_what_a_dropped_node_waited_for() -> None:
    nodes = [Node(Call(OTHER), "a"), Node(Call(OTHER), "b", {0}), Node(Call(OTHER), "c", {1})]
    assert [(n.name, n.deps) for n in without(nodes, {1})] == [("a", set()), ("c", {0})]


def test_no_shard_leaves_the_graph_alone_and_a_plan_needs_a_shard() -> None:
    nodes = graph()
    assert shard_graph(nodes, RunOptions(), Config(), {}) is nodes
    with pytest.raises(UsageError, match="--shard-plan: give --shard I/N too"):
        shard_graph(graph(), RunOptions(shard_plan="plan.json"), Config(), {})
    with pytest.raises(UsageError, match="GOTASKS_SHARD 0/2"):
        shard_graph(graph(), RunOptions(), Config(), {"GOTASKS_SHARD": "0/2"})


def test_a_job_wide_shard_variable_leaves_runs_with_nothing_to_split_alone() -> None:
    others = [Node(Call(OTHER), "other")]
    for value in ("2/4", "0/2", "x"):
        assert shard_graph(others, RunOptions(), Config(), {"GOTASKS_SHARD": value}) is others
    with pytest.raises(UsageError, match="nothing in this run splits"):
        shard_graph(others, RunOptions(shard="1/2"), Config(), {})
    # doctor names a bad value
    assert run_variable_problems({"GOTASKS_SHARD": "2/4"}) == []
    assert run_variable_problems({"GOTASKS_SHARD": "5/4"}) == [
        "GOTASKS_SHARD 5/4: shards are numbered from 1 to 4 (1/4 to 4/4)"
    ]
