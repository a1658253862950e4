"""The parallel scheduler, run through the real `inv` on synthetic tasks of known shape."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from helpers import Project, clean_env, reaped

MakeProject = Callable[..., Project]

TASKS = """

import sys as _sys

from gotasks.engine import task as _task

_PY = _sys.executable


def _sleep(c, seconds, marker="gotasks-test"):
    c.run(f"{_PY} -c 'import time, sys; time.sleep({seconds})' {marker}")


def _hold(c, megabytes, seconds):
    code = f"import time; b = bytearray({megabytes} * 1024 * 1024); time.sleep({seconds})"
    c.run(f"{_PY} -c '{code}'")


@_task(cpu=0.5, mem="20M")
def a(c):
    _sleep(c, 1.5)


@_task(cpu=0.5, mem="20M")
def b(c):
    _sleep(c, 1.5)


@_task(pre=[a, b], cpu=0.1, mem="1M")
def both(c):
    print("both ran")


@_task(cpu=0.1, mem="20M", pool="solo")
def s1(c):
    _sleep(c, 1)


@_task(cpu=0.1, mem="20M", pool="solo")
def s2(c):
    _sleep(c, 1)


@_task(pre=[s1, s2], cpu=0.1, mem="1M")
def solos(c):
    pass


@_task(cpu=0.1, mem="20M", exclusive=True)
def alone(c):
    _sleep(c, 1)


@_task(pre=[a, b, alone], cpu=0.1, mem="1M")
def with_exclusive(c):
    pass


@_task(cpu=0.1, mem="20M")
def hog(c):
    _hold(c, 400, 10)


@_task(cpu=0.1, mem="20M", timeout=1)
def slow(c):
    _sleep(c, 30)


@_task(cpu=0.1, mem="20M")
def broken(c):
    c.run(f"{_PY} -c 'raise SystemExit(3)'")


@_task(pre=[broken], cpu=0.1, mem="1M")
def after_broken(c):
    print("must not run")


@_task(cpu=0.1, mem="20M")
def independent(c):
    _sleep(c, 0.5)
    print("independent ran")


@_task(pre=[after_broken, independent], cpu=0.1, mem="1M")
def mixed(c):
    pass


@_task(cpu=0.1, mem="10M")
def big1(c):
    _hold(c, 150, 1.5)


@_task(cpu=0.1, mem="10M")
def big2(c):
    _hold(c, 150, 1.5)


@_task(pre=[big1, big2], cpu=0.1, mem="1M")
def bigs(c):
    pass


@_task(cpu=0.1, mem="10M")
def long1(c):
    _sleep(c, 120, "gotasks-interrupt-test")


@_task(cpu=0.1, mem="10M")
def long2(c):
    _sleep(c, 120, "gotasks-interrupt-test")


@_task(pre=[long1, long2], cpu=0.1, mem="1M")
def longs(c):
    pass


@_task(cpu=0.1, mem="1M")
def loop_a(c):
    pass


@_task(pre=[loop_a], cpu=0.1, mem="1M")
def loop_b(c):
    pass


loop_a.pre.append(loop_b)


@_task(cpu=0.1, mem="10M")
def talk1(c):
    c.run("echo talk1 says hello")


@_task(cpu=0.1, mem="10M")
def talk2(c):
    c.run("echo talk2 says hello")


@_task(pre=[talk1, talk2], cpu=0.1, mem="1M")
def talks(c):
    pass


@_task(cpu=0.1, mem="10M", timeout=1)
def stubborn(c):
    for _ in range(4):  # like go(): a killed command does not raise
        c.run(f"{_PY} -c 'import time; time.sleep(2)'", warn=True)


@_task(cpu=0.1, mem="10M", timeout=1)
def pyslow(c):
    import time as _time

    _time.sleep(2.5)

for _t in (both, solos, with_exclusive, hog, slow, mixed, bigs, longs, loop_b, talks, stubborn,
           pyslow):
    ns.add_task(_t)
"""


@pytest.fixture
def project(make_project: MakeProject) -> Project:
    project = make_project(example=False, git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(TASKS)
    base = project.root / "config" / "base.yaml"
    base.write_text(
        base.read_text().replace(
            "pools: {lint: 2, test: 1, build: 2, bench: 1}",
            "pools: {lint: 2, test: 1, build: 2, bench: 1, solo: 1}",
        )
    )
    # no Go module here: the tasks above are plain ones
    return project


def spans(trace: Path) -> dict[str, tuple[float, float]]:
    events = json.loads(trace.read_text())["traceEvents"]
    return {e["name"]: (e["ts"], e["ts"] + e["dur"]) for e in events if e.get("ph") == "X"}


def overlap(x: tuple[float, float], y: tuple[float, float]) -> bool:
    return x[0] < y[1] and y[0] < x[1]


def test_independent_tasks_really_overlap(project: Project) -> None:
    out = project.inv("both", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert overlap(got["a"], got["b"])
    assert got["both"][0] >= max(got["a"][1], got["b"][1])  # pre tasks first
    assert "both ran" in out.stdout
    assert "critical path" in out.stdout


def test_jobs_one_runs_one_at_a_time(project: Project) -> None:
    out = project.inv("both", "--jobs", "1", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert not overlap(got["a"], got["b"])


def test_a_pool_cap_holds(project: Project) -> None:
    out = project.inv("solos", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert not overlap(got["s1"], got["s2"])


def test_an_exclusive_task_runs_with_nothing_else(project: Project) -> None:
    out = project.inv("with-exclusive", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert not overlap(got["alone"], got["a"])
    assert not overlap(got["alone"], got["b"])


def test_a_task_over_its_memory_limit_is_killed(project: Project) -> None:
    out = project.inv("hog")
    assert out.returncode == 1, out.stdout + out.stderr
    line = out.stderr.strip()
    assert "memory" in line and "limit 60M" in line and "killed" in line, line
    assert "Traceback" not in out.stdout + out.stderr


def test_a_task_past_its_timeout_is_killed(project: Project) -> None:
    started = time.monotonic()
    out = project.inv("slow")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "timeout" in out.stderr
    assert time.monotonic() - started < 25  # not the task's 30 s


def test_keep_going_runs_the_rest_and_skips_dependents(project: Project) -> None:
    out = project.inv("mixed", "--keep-going")
    assert out.returncode == 1
    assert "independent ran" in out.stdout
    assert "must not run" not in out.stdout
    summary = out.stdout.split("summary", 1)[1]
    assert "after_broken" in summary and "skip" in summary
    assert "exit 3" in out.stdout + out.stderr


def test_by_default_nothing_new_starts_after_a_failure(project: Project) -> None:
    out = project.inv("mixed", "--jobs", "1")
    assert out.returncode == 1
    assert "must not run" not in out.stdout


def test_a_cycle_is_an_error_that_prints_it(project: Project) -> None:
    out = project.inv("loop-b")
    assert out.returncode == 2
    assert "dependency cycle" in out.stderr
    assert "loop_a" in out.stderr and "loop_b" in out.stderr


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["both", "--jobs", "-1"], {}, "--jobs"),
        (["both"], {"GOTASKS_JOBS": "lots"}, "GOTASKS_JOBS"),
        (["both", "--output", "fancy"], {}, "--output"),
        (["both"], {"GOTASKS_MEMORY": "-1G"}, "GOTASKS_MEMORY"),
        (["both"], {"GOTASKS_CPUS": "0"}, "GOTASKS_CPUS"),
    ],
)
def test_bad_scheduler_input_is_one_line_before_anything_runs(
    project: Project, args: list[str], env: dict[str, str], needle: str
) -> None:
    out = project.inv(*args, env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "both ran" not in out.stdout


def test_estimates_learned_in_one_run_change_admission_in_the_next(project: Project) -> None:
    # Each task claims 10M but holds 150M: with 250M to share, the first run (claims only)
    # puts them side by side; the second knows better and runs them one at a time.
    env = {"GOTASKS_MEMORY": "250M"}
    project.write("config/dev.yaml", "scheduler:\n  memory_limit_factor: 100\n")
    first = project.inv("bigs", "--trace", "1.json", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert overlap(*(spans(project.root / "1.json")[n] for n in ("big1", "big2")))
    history = json.loads((project.root / ".gotasks" / "history.json").read_text())
    assert history["tasks"]["big1"][2][0] > 100 * 1024**2  # [run, durations, peaks, cpus]
    second = project.inv("bigs", "--trace", "2.json", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert not overlap(*(spans(project.root / "2.json")[n] for n in ("big1", "big2")))


def marked_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "gotasks-interrupt-test" in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_leaves_no_process_behind(project: Project, signum: int) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", "longs"],
        cwd=project.root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with reaped(run):
        deadline = time.monotonic() + 30
        while len(marked_processes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(marked_processes()) >= 2, "the tasks' commands never started"
        run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=30)
    assert run.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    assert "summary" in stdout
    time.sleep(0.2)
    assert marked_processes() == []


def test_a_terminal_gets_a_live_status_line(project: Project) -> None:
    if shutil.which("script") is None:
        pytest.skip("util-linux `script` is needed to give the run a terminal")
    command = f"{sys.executable} -m invoke both"
    out = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=project.root,
        env=clean_env(TERM="xterm"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "\x1b[K[0/3] running: " in out.stdout  # text mode reads its \\r as \\n
    assert "cpu " in out.stdout and "mem " in out.stdout
    assert "both ran" in out.stdout


def test_github_actions_gets_a_group_per_task(project: Project) -> None:
    out = project.inv("both", env={"GITHUB_ACTIONS": "true"})
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    starts = [line for line in lines if line.startswith("::group::")]
    assert len(starts) == 3 and lines.count("::endgroup::") == 3
    assert any(line.startswith("::group::ok") and " a (" in line for line in starts)


def test_prefixed_output_streams_lines_under_the_tasks_name(project: Project) -> None:
    out = project.inv("mixed", "--keep-going", "--output", "prefixed")
    assert "[independent] independent ran" in out.stdout


def test_jobs_has_makes_short_flag(project: Project) -> None:
    out = project.inv("both", "-j", "1", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert not overlap(got["a"], got["b"])


def test_a_commands_output_stays_with_its_task(project: Project) -> None:
    prefixed = project.inv("talks", "--output", "prefixed")
    assert prefixed.returncode == 0, prefixed.stdout + prefixed.stderr
    assert "[talk1] talk1 says hello" in prefixed.stdout
    assert "[talk2] talk2 says hello" in prefixed.stdout
    grouped = project.inv("talks").stdout.splitlines()
    head = next(i for i, line in enumerate(grouped) if line.startswith("ok") and "talk1 (" in line)
    assert grouped[head + 1] == "talk1 says hello"


@pytest.mark.parametrize("name", ["stubborn", "pyslow"])
def test_a_timeout_fails_the_task_even_when_its_body_carries_on(
    project: Project, name: str
) -> None:
    started = time.monotonic()
    out = project.inv(name)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "timeout" in out.stderr
    assert time.monotonic() - started < 8  # the stubborn loop's later commands died at once


def test_a_closed_pipe_neither_crashes_nor_leaves_processes(project: Project) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", "both"],
        cwd=project.root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None
    run.stdout.close()  # the reader went away, as `inv both | head -0` does
    _, stderr = run.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert run.returncode == 0, stderr


@pytest.mark.e2e
def test_jobs_zero_means_no_cap_on_the_command_line_as_in_the_config(project: Project) -> None:
    base = project.root / "config" / "base.yaml"
    base.write_text(base.read_text().replace("  jobs: 0 ", "  jobs: 1 "))
    capped = project.inv("both", "--trace", "capped.json")
    assert capped.returncode == 0, capped.stdout + capped.stderr
    got = spans(project.root / "capped.json")
    assert not overlap(got["a"], got["b"])  # scheduler.jobs: 1 holds
    # --jobs 0 beats the config's 1 and means what scheduler.jobs: 0 means: no cap
    out = project.inv("both", "--jobs", "0", "--trace", "t.json")
    assert out.returncode == 0, out.stdout + out.stderr
    got = spans(project.root / "t.json")
    assert overlap(got["a"], got["b"])
