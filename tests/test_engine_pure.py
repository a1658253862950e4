"""The engine's pure parts, tested directly (no inv, no processes): admission, graph
expansion, output routing. Each test is milliseconds; together they belong to the quick
loop."""

from __future__ import annotations

import io
import random
import sys
import threading

import pytest
from invoke.context import Context
from invoke.tasks import Call
from invoke.tasks import task as invoke_task

from gotasks.core.errors import UsageError
from gotasks.engine import task
from gotasks.engine.admission import MAX_OVERTAKEN, Job, Limits, admit, set_priorities
from gotasks.engine.graph import expand
from gotasks.engine.output import Routing, TaskOutput

G = 1024**3

# --- admission ------------------------------------------------------------------------


def job(name: str, cpu: float = 1.0, mem: int = G, **kwargs: object) -> Job:
    return Job(name, cpu, mem, **kwargs)  # type: ignore[arg-type]


LIMITS = Limits(cpus=4, memory=8 * G, jobs=0, pools={})


def test_admission_never_overcommits_cpu_or_memory() -> None:
    """Any mix of ready jobs, with some running: what starts fits beside what runs."""
    rng = random.Random(11)
    for _ in range(500):
        running = [
            job(f"r{i}", rng.choice([0.5, 1, 2]), rng.choice([1, 2]) * G)
            for i in range(rng.randint(0, 2))
        ]
        ready = [
            job(f"j{i}", rng.choice([0.5, 1, 2, 3]), rng.choice([1, 2, 3]) * G)
            for i in range(rng.randint(1, 6))
        ]
        chosen = admit(ready, running, LIMITS, memory_low=False)
        everyone = running + chosen
        if running or len(chosen) > 1:
            assert sum(j.cpu for j in everyone) <= LIMITS.cpus
            assert sum(j.mem for j in everyone) <= LIMITS.memory


def test_a_job_bigger_than_the_machine_starts_alone_so_nothing_deadlocks() -> None:
    huge = job("huge", cpu=16, mem=64 * G)
    assert admit([huge], [], LIMITS, memory_low=False) == [huge]
    assert admit([huge], [job("small")], LIMITS, memory_low=False) == []


def test_an_exclusive_job_runs_with_nothing_else() -> None:
    alone, small = job("alone", exclusive=True), job("small", cpu=0.5)
    assert admit([alone, small], [job("x")], LIMITS, memory_low=False) == [small]
    alone.priority = 10
    assert admit([alone, small], [], LIMITS, memory_low=False) == [alone]
    assert admit([small], [alone], LIMITS, memory_low=False) == []


def test_the_most_work_waiting_behind_starts_first_then_the_shortest() -> None:
    a = job("a", duration=1)
    b = job("b", duration=5)
    c = job("c", duration=1)
    d = job("d", duration=10)
    # a -> d: 10 s wait behind a; b and c have nothing behind them.
    a.dependents, d.deps = {d}, {a}
    set_priorities([a, b, c, d])
    assert (a.priority, b.priority, c.priority, d.priority) == (11, 5, 1, 10)
    assert (a.tail, b.tail, c.tail) == (10, 0, 0)
    two = Limits(cpus=2, memory=8 * G, jobs=0, pools={})
    # a (the critical path) first, then c: as little behind it as b, and quicker.
    assert [j.name for j in admit([b, c, a], [], two, memory_low=False)] == ["a", "c"]


def test_pools_and_the_job_cap_limit_how_many_start() -> None:
    tests = [job(f"t{i}", cpu=0.5, mem=G // 4, pool="test") for i in range(4)]
    limits = Limits(cpus=8, memory=8 * G, jobs=0, pools={"test": 2})
    assert len(admit(tests, [], limits, memory_low=False)) == 2
    assert len(admit(tests, tests[:1], limits, memory_low=False)) == 1
    capped = Limits(cpus=8, memory=8 * G, jobs=3, pools={})
    assert len(admit(tests, [job("r")], capped, memory_low=False)) == 2


def test_low_memory_starts_nothing_beside_a_running_job() -> None:
    small = job("small", cpu=0.1, mem=G // 64)
    assert admit([small], [job("r")], LIMITS, memory_low=True) == []
    assert admit([small], [], LIMITS, memory_low=True) == [small]


def test_a_big_job_overtaken_too_often_holds_the_machine_for_itself() -> None:
    big, small = job("big", cpu=4, priority=5), job("small", cpu=1, priority=1)
    running = [job("r", cpu=1)]
    for _ in range(MAX_OVERTAKEN):
        assert admit([big, small], running, LIMITS, memory_low=False) == [small]
        small.overtaken = 0
    assert big.overtaken == MAX_OVERTAKEN
    assert admit([big, small], running, LIMITS, memory_low=False) == []


def test_beside_other_runs_only_a_light_job_starts_without_fitting() -> None:
    share = Limits(cpus=1, memory=G, jobs=0, pools={})
    heavy, light = job("heavy", cpu=2, mem=2 * G), job("light", cpu=0.1, mem=G // 32)
    assert admit([heavy], [], share, memory_low=False, others_hold=True) == []
    assert admit([heavy, light], [], share, memory_low=False, others_hold=True) == [light]


# --- graph expansion ------------------------------------------------------------------


@task
def fetch(c: Context) -> None:
    """Shared by two tasks."""


@task(pre=[fetch], each="module")
def compile_(c: Context, module: str | None = None) -> None:
    """Fans out per module."""


@task(pre=[fetch])
def vet(c: Context) -> None:
    """A second task needing fetch."""


@task(post=[fetch])
def announce(c: Context) -> None:
    """fetch runs after it."""


@task(pre=[compile_, vet])
def everything(c: Context, env: str | None = None) -> None:
    """The umbrella."""


def names(nodes: list) -> list[str]:  # type: ignore[type-arg]
    return [node.name for node in nodes]


def test_expand_runs_each_task_once_after_its_pre_tasks() -> None:
    nodes = expand([Call(everything)], lambda dimension: ["a", "b"], {})
    assert sorted(names(nodes)) == ["compile_[a]", "compile_[b]", "everything", "fetch", "vet"]
    position = {name: i for i, name in enumerate(names(nodes))}
    for node in nodes:
        for dep in node.deps:
            assert position[nodes[dep].name] < position[node.name]  # a valid order
    by_name = {node.name: node for node in nodes}
    assert {nodes[i].name for i in by_name["everything"].deps} == {
        "compile_[a]",
        "compile_[b]",
        "vet",
    }
    assert {nodes[i].name for i in by_name["compile_[b]"].deps} == {"fetch"}


@invoke_task
def plain(c: Context) -> None:
    """An invoke task: it takes no run-wide option."""


@task(pre=[plain, vet])
def mixed(c: Context) -> None:
    """gotasks' tasks take every run-wide option."""


def test_expand_gives_run_wide_options_to_the_tasks_that_take_them() -> None:
    nodes = expand([Call(mixed)], lambda dimension: ["a"], {"trace": "t.json", "jobs": None})
    by_name = {node.name: node.call.kwargs for node in nodes}
    assert by_name["mixed"] == by_name["vet"] == by_name["fetch"] == {"trace": "t.json"}
    assert by_name["plain"] == {}


def test_expand_puts_a_post_task_after_the_task() -> None:
    nodes = expand([Call(announce)], lambda dimension: [], {})
    by_name = {node.name: node for node in nodes}
    assert {nodes[i].name for i in by_name["fetch"].deps} == {"announce"}


def test_expand_refuses_a_cycle_naming_it() -> None:
    @task
    def one(c: Context) -> None:
        """In a cycle."""

    @task(pre=[one])
    def two(c: Context) -> None:
        """In a cycle."""

    one.pre = [two]
    with pytest.raises(UsageError, match=r"dependency cycle: one -> two -> one"):
        expand([Call(one)], lambda dimension: [], {})


# --- output routing -------------------------------------------------------------------


def test_each_threads_prints_reach_its_own_task_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    real = io.StringIO()
    lock = threading.Lock()
    outputs = {name: TaskOutput(name, "group", lock, real) for name in ("a", "b", "c")}
    monkeypatch.setattr(sys, "stdout", real)
    with Routing() as routing:

        def work(name: str) -> None:
            routing.route(outputs[name].write)
            for i in range(200):
                print(f"{name} line {i}")
            routing.route(None)

        threads = [threading.Thread(target=work, args=(name,)) for name in outputs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("from the main thread")
    assert real.getvalue() == "from the main thread\n"
    for name, output in outputs.items():
        assert "".join(output.text) == "".join(f"{name} line {i}\n" for i in range(200))


def test_prefixed_output_shows_whole_lines_with_the_task_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    real = io.StringIO()
    output = TaskOutput("lint", "prefixed", threading.Lock(), real)
    for piece in ("first li", "ne\nsec", "ond\nunfinished"):
        output.write(piece)
    assert real.getvalue() == "[lint] first line\n[lint] second\n"
    output.finish("ok", "1.2s", None)
    assert real.getvalue().splitlines()[2:] == ["[lint] unfinished", "ok   lint (1.2s)"]


def test_a_grouped_block_is_printed_whole_under_its_result_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    real = io.StringIO()
    output = TaskOutput("test", "group", threading.Lock(), real)
    output.write("\x1b[31mred\x1b")  # a colour code cut in two, stripped where none is shown
    output.write("[0m text\n")
    assert real.getvalue() == ""  # nothing before the task ends
    output.finish("failed", "3.0s", "exit 1")
    assert real.getvalue() == "::group::FAIL test (3.0s): exit 1\nred text\n::endgroup::\n"
