"""Expands requested invoke calls into one ordered, de-duplicated graph of calls."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from invoke.tasks import Call, Task

from gotasks.core import collector
from gotasks.core.errors import UsageError

FanOut = Callable[[str], list[str]]


def call_name(call: Call) -> str:
    name = call.called_as or call.task.name
    each = getattr(call.task, "each", None)
    if each and call.kwargs.get(each) is not None:
        return f"{name}[{call.kwargs[each]}]"
    return name


def _as_call(item: object) -> Call:
    # invoke types pre/post as strings, but they hold Task or Call objects.
    if isinstance(item, Call):
        return item
    assert isinstance(item, Task)
    return Call(item)


@dataclass(slots=True)
class Node:
    """One call of the run, with the nodes (by index) it waits for."""

    call: Call
    name: str
    deps: set[int] = field(default_factory=set)


def expand(calls: Iterable[Call], fan_out: FanOut, run_kwargs: dict[str, Any]) -> list[Node]:
    """The run's graph: each call once, pre tasks as its dependencies, post tasks depending
    on it, fanned-out tasks as one node per value. Nodes come in a valid order to run one
    after another; a cycle is a UsageError that prints it.

    `run_kwargs` (the run-wide options) are given to every task that accepts them, so a
    task reached as a pre task runs with the options typed on the command line.
    """
    with collector.paused():
        return _expand(calls, fan_out, run_kwargs)


def _expand(calls: Iterable[Call], fan_out: FanOut, run_kwargs: dict[str, Any]) -> list[Node]:
    nodes: list[Node] = []
    index: dict[tuple[Any, ...], int] = {}
    # A call reached again with the same flags gives the same nodes: without this, a task
    # shared by many paths (a layered graph) would be walked once per path, exponentially.
    visited: dict[tuple[Any, ...], list[int]] = {}
    accepted: dict[int, set[str | None]] = {}
    # Each task object, by id, as the first task equal to it (invoke's Task equality: name
    # and body): keys hold that id, so a key is hashed without calling Task.__hash__, a
    # Python function, several times a call in a graph of thousands.
    same: dict[Task[Any], int] = {}
    ident: dict[int, int] = {}

    def key(call: Call) -> tuple[Any, ...]:
        task = call.task
        found = ident.get(id(task))
        if found is None:
            found = ident[id(task)] = same.setdefault(task, id(task))
        # a repeatable flag's value is a list; a flag's name is there once, so sorting the
        # pairs never compares two values
        kwargs = ((k, tuple(v) if isinstance(v, list) else v) for k, v in call.kwargs.items())
        return (found, tuple(call.args), tuple(sorted(kwargs)))

    def visit(call: Call, stack: list[str], given: dict[str, Any]) -> list[int]:
        task = call.task
        if id(task) not in accepted:
            # The body's parameters are its flags' names: get_arguments() builds every
            # Argument (help, kinds), milliseconds a task, thousands of times. A gotasks
            # task's body carries its signature (inspect.signature would unwrap it first).
            signature = getattr(task.body, "__signature__", None) or inspect.signature(task.body)
            accepted[id(task)] = set(signature.parameters)
        call = _with_run_kwargs(call, {**given, **run_kwargs}, accepted[id(task)])
        name = call_name(call)
        if name in stack:
            cycle = [*stack[stack.index(name) :], name]
            raise UsageError("dependency cycle: " + " -> ".join(cycle))
        call_key = key(call)
        seen = (call_key, repr(sorted(given.items())) if given else "")
        if seen in visited:
            return visited[seen]
        passed = {**given, **_forwarded(call)}
        inner = [*stack, name]
        pre_ids = {i for pre in task.pre for i in visit_item(pre, inner, passed)}
        ids = []
        for one in _fan_out(call, fan_out):
            one_key = call_key if one is call else key(one)
            at = index.get(one_key)
            if at is None:
                at = index[one_key] = len(nodes)
                nodes.append(Node(one, name if one is call else call_name(one)))
            nodes[at].deps |= pre_ids
            ids.append(at)
        for post in task.post:
            for post_id in visit_item(post, inner, given):
                nodes[post_id].deps |= set(ids)
        visited[seen] = ids
        return ids

    bare: dict[int, list[int]] = {}

    def visit_item(item: object, stack: list[str], given: dict[str, Any]) -> list[int]:
        """A pre or post item. A bare task (no flags of its own) with nothing handed down
        gives the nodes it gave the first time: a layered graph reaches each task once per
        edge, and a Call, a name and a key for every one of them cost as much as the rest
        of the expansion. (Not cached until its visit ends, so a cycle is still found.)"""
        if given or not isinstance(item, Task):
            return visit(_as_call(item), stack, given)
        found = bare.get(id(item))
        if found is None:
            found = bare[id(item)] = visit(Call(item), stack, given)
        return found

    for call in calls:
        visit(call, [], {})
    return nodes


def _forwarded(call: Call) -> dict[str, Any]:
    """The flags a task hands on to its pre tasks (`inv ci --module x --short`): those it
    names in `forwards` that were given a value (False, 0 and empty are defaults)."""
    names = getattr(call.task, "forwards", ())
    return {
        k: v for k, v in call.kwargs.items() if k in names and v not in (None, False, 0, "", [])
    }


def _with_run_kwargs(call: Call, run_kwargs: dict[str, Any], accepted: set[str | None]) -> Call:
    extra = {k: v for k, v in run_kwargs.items() if k in accepted and v is not None}
    if not extra:
        return call
    return Call(
        call.task,
        called_as=call.called_as,
        args=tuple(call.args),
        kwargs={**call.kwargs, **extra},
    )


def _fan_out(call: Call, fan_out: FanOut) -> list[Call]:
    each = getattr(call.task, "each", None)
    if not each or call.kwargs.get(each) is not None:
        return [call]
    return [
        Call(call.task, called_as=call.called_as, args=call.args, kwargs={**call.kwargs, each: v})
        for v in fan_out(each)
    ]


def without(nodes: list[Node], drop: set[int]) -> list[Node]:
    """The graph less the nodes at `drop`: what waited for a dropped node now waits for
    what that node waited for (a shard's run leaves out other shards' tasks)."""
    kept: dict[int, set[int]] = {}

    def kept_deps(i: int) -> set[int]:
        if i not in kept:
            kept[i] = set()  # a cycle cannot be (expand refuses them); this ends it anyway
            found: set[int] = set()
            for dep in nodes[i].deps:
                found |= kept_deps(dep) if dep in drop else {dep}
            kept[i] = found
        return kept[i]

    order = [i for i in range(len(nodes)) if i not in drop]
    new = {old: position for position, old in enumerate(order)}
    return [Node(nodes[i].call, nodes[i].name, {new[d] for d in kept_deps(i)}) for i in order]
