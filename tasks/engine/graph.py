"""Expands requested invoke calls into one ordered, de-duplicated graph of calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from invoke.tasks import Call, Task

from tasks.engine.errors import UsageError

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


def expand(calls: Iterable[Call], fan_out: FanOut, run_kwargs: dict[str, Any]) -> list[Call]:
    """Pre tasks before their task, post tasks after, each call once; cycles are errors.

    `run_kwargs` (the run-wide options) are given to every task that accepts them, so
    that a task reached as a pre task runs with the options typed on the command line.
    """
    ordered: list[Call] = []
    seen: set[tuple[Any, ...]] = set()

    def key(call: Call) -> tuple[Any, ...]:
        return (call.task, tuple(call.args), tuple(sorted(call.kwargs.items(), key=str)))

    def visit(call: Call, stack: list[str]) -> None:
        call = _with_run_kwargs(call, run_kwargs)
        name = call_name(call)
        if any(entry == name for entry in stack):
            cycle = [*stack[stack.index(name) :], name]
            raise UsageError("dependency cycle: " + " -> ".join(cycle))
        for pre in call.task.pre:
            visit(_as_call(pre), [*stack, name])
        for one in _fan_out(call, fan_out):
            if key(one) not in seen:
                seen.add(key(one))
                ordered.append(one)
        for post in call.task.post:
            visit(_as_call(post), [*stack, name])

    for call in calls:
        visit(call, [])
    return ordered


def _with_run_kwargs(call: Call, run_kwargs: dict[str, Any]) -> Call:
    accepted = {arg.name for arg in call.task.get_arguments()}
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
