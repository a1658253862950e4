"""The pure parts behind the make habits: flags a task hands on to its pre tasks, progress
lines, go test's `(cached)`. Fast, no go."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from invoke.context import Context
from invoke.tasks import Call

from gotasks.engine import task
from gotasks.engine.graph import expand
from gotasks.engine.output import TaskOutput
from gotasks.go.buildprogress import BuildProgress
from gotasks.go.testjson import parse
from gotasks.go.testsummary import render_summary


@task(each="module")
def check(c: Context, module: str | None = None, short: bool = False) -> None:
    """A per-module task with a test flag."""


@task
def other(c: Context, verbose: bool = False) -> None:
    """A task without the flags below."""


@task(pre=[check, other], forwards=("module", "short", "verbose"))
def umbrella(
    c: Context, module: str | None = None, short: bool = False, verbose: bool = False
) -> None:
    """Hands its flags on."""


def fan_out(dimension: str) -> list[str]:
    return ["a", "b"]


def nodes_of(**kwargs: Any) -> dict[str, dict[str, Any]]:
    nodes = expand([Call(umbrella, kwargs=kwargs)], fan_out, {})
    return {node.name: node.call.kwargs for node in nodes}


def test_forwarded_flags_reach_the_pre_tasks_that_take_them() -> None:
    nodes = nodes_of(module="b", short=True, verbose=False)
    # --module picks the one module instead of fanning out; short reaches check only
    assert set(nodes) == {"check[b]", "other", "umbrella"}
    assert nodes["check[b]"]["short"] is True
    assert "short" not in nodes["other"] and "verbose" not in nodes["other"]


def test_unset_flags_leave_the_pre_tasks_as_they_were() -> None:
    nodes = nodes_of(module=None, short=False, verbose=False)
    assert set(nodes) == {"check[a]", "check[b]", "other", "umbrella"}
    assert "short" not in nodes["check[a]"]


def test_a_finished_step_is_a_line_at_once_when_nothing_is_live() -> None:
    real = io.StringIO()
    output = TaskOutput("build[hello]", "group", threading.Lock(), real)
    output.step(lambda: "1/2 targets", "linux/amd64 built (1/2 targets)")
    assert real.getvalue() == "[build[hello]] linux/amd64 built (1/2 targets)\n"
    assert output.status() == "build[hello]: 1/2 targets"
    output.step(None)
    assert output.status() == "build[hello]"


def test_on_a_live_terminal_steps_show_on_the_status_line_only() -> None:
    real = io.StringIO()
    output = TaskOutput("build[hello]", "group", threading.Lock(), real, live=True)
    output.step("0/2 targets", "linux/amd64 built (1/2 targets)")
    assert real.getvalue() == ""
    assert output.status() == "build[hello]: 0/2 targets"


def test_a_broken_progress_never_breaks_the_status_line() -> None:
    output = TaskOutput("t", "group", threading.Lock(), io.StringIO(), live=True)
    output.step(lambda: str(1 / 0))
    assert output.status() == "t"


def test_build_progress_counts_a_target_done_when_all_its_packages_are(tmp_path: Any) -> None:
    units = [
        ("linux/amd64", tmp_path / "a" / "x"),
        ("linux/amd64", tmp_path / "a" / "y"),
        ("darwin/arm64", tmp_path / "b" / "x"),
    ]
    progress = BuildProgress(units, None)
    assert progress() == "0/2 targets"
    assert progress.finished("linux/amd64", ok=True) is None
    assert progress.finished("darwin/arm64", ok=False) == "darwin/arm64 FAILED (1/2 targets)"
    assert progress.finished("linux/amd64", ok=True) == "linux/amd64 built (2/2 targets)"
    assert progress() == "2/2 targets"


def event(action: str, package: str, **extra: Any) -> str:
    return json.dumps({"Action": action, "Package": package, **extra})


def test_a_cached_package_says_cached_not_its_replayed_time() -> None:
    lines = [
        event("start", "ex.com/p"),
        event("run", "ex.com/p", Test="TestA"),
        event("pass", "ex.com/p", Test="TestA", Elapsed=0),
        event("output", "ex.com/p", Output="ok  \tex.com/p\t(cached)\n"),
        event("pass", "ex.com/p", Elapsed=0),
        event("start", "ex.com/q"),
        event("output", "ex.com/q", Output="ok  \tex.com/q\t0.012s\n"),
        event("pass", "ex.com/q", Elapsed=0.012),
    ]
    report = render_summary(parse(lines))
    assert "ex.com/p  (cached)  1 passed" in report
    assert "ex.com/q  0.01s" in report
