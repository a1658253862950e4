"""Stop signals and a killed `inv`, as they happen: any number of SIGINT/SIGTERM/SIGHUP at
random moments of a real `inv test` whose test hangs, and a SIGKILL of `inv` itself. No
process of the run may be left, however it ended."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from helpers import (
    MARK,
    Project,
    clean_env,
    describe,
    handles_stop_signals,
    left_behind,
    marked,
    reaped,
    require_go,
    wait_for,
    wait_until_gone,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc"),
]

HANG_TEST = 'package hang\n\nimport "testing"\n\nfunc TestHang(t *testing.T) { select {} }\n'
KINDS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    require_go()
    project = make_project(example=False, git=False)
    project.write("hang/go.mod", "module example.com/hang\n\ngo 1.21\n")
    project.write("hang/hang_test.go", HANG_TEST)
    # The test binary built once, so most rounds find go test past its compile.
    subprocess.run(
        ["go", "test", "-c", "-o", os.devnull, "."],
        cwd=project.root / "hang",
        env=clean_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return project


def start_inv(project: Project, mark: str, *args: str, **popen: bool) -> subprocess.Popen[str]:
    """`inv *args`, every process of it (it passes its environment on) marked with `mark`."""
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=clean_env(**{MARK: mark}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_any_stop_signals_at_any_moment_end_the_run_with_130_and_nothing_left(
    project: Project,
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    # When the first signal goes: any moment from the start (Python and invoke starting,
    # gotasks loading), right as gotasks is loaded (the namespace, the settings, go's
    # environment), at a random moment of the first seconds (compiling, starting), or while
    # the test binary hangs.
    moments = ["start", "start", "loaded", "loaded", "early", "early", "hanging", "hanging"]
    rng.shuffle(moments)
    for number, moment in enumerate(moments):
        signal_round(project, rng, f"seed {seed} round {number}: {moment}", moment)


def signal_round(project: Project, rng: random.Random, plan: str, moment: str) -> None:
    """One `inv test`, 1-3 signals of random kinds at random gaps after `moment`: exit 130,
    no traceback, and no process of the run left."""
    mark = uuid.uuid4().hex
    kinds = [rng.choice(KINDS) for _ in range(rng.randint(1, 3))]
    gaps = [rng.choice([0.0, rng.uniform(0, 0.01), rng.uniform(0, 1.0)]) for _ in kinds]
    plan += ", " + ", ".join(
        f"{signal.Signals(k).name} after {g:.3f}s" for k, g in zip(kinds, gaps, strict=True)
    )
    run = start_inv(project, mark, "test")

    def hanging() -> bool:
        return any(p.info["name"] == "hang.test" for p in marked(mark))

    with reaped(run):
        if moment == "start":
            time.sleep(rng.uniform(0, 1.5))
        else:
            assert wait_for(lambda: handles_stop_signals(run.pid), run, 60), plan
        # Before invoke has loaded gotasks, Python's own handling is all there is (the
        # README says so); nothing of the run exists yet to be left behind.
        loaded = handles_stop_signals(run.pid)
        if moment == "early":
            time.sleep(rng.uniform(0, 2.5))
        elif moment == "hanging":
            assert wait_for(hanging, run, 120), plan
            time.sleep(rng.uniform(0, 0.5))
        for kind, gap in zip(kinds, gaps, strict=True):
            time.sleep(gap)
            if run.poll() is None:
                run.send_signal(kind)
        stdout, stderr = run.communicate(timeout=60)
    shown = f"{plan}\nexit {run.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    if loaded:
        assert run.returncode == 130, shown
        assert "Traceback" not in stdout + stderr, shown
    else:
        # invoke exits 1 on a KeyboardInterrupt of its own; else Python dies of the signal.
        assert run.returncode in (130, 1, *(-k for k in kinds)), shown
    # inv stops what it started before it exits; only its watcher may still be finishing.
    left = left_behind(mark)
    assert left == [], shown + "\nleft running:\n" + describe(left)
    left = wait_until_gone(mark, 30)
    assert left == [], shown + "\nleft running:\n" + describe(left)


@pytest.mark.parametrize("target", ["process", "group"])
def test_commands_die_with_a_killed_inv(project: Project, target: str) -> None:
    # SIGKILL gives inv no chance to stop anything: the watcher does it. "group" is
    # `kill -9 -- -PGID` of inv's process group, which the commands and the watcher are not in.
    mark = uuid.uuid4().hex
    run = start_inv(project, mark, "test", start_new_session=True)
    with reaped(run):

        def running() -> dict[str, psutil.Process]:
            procs = {p.info["name"]: p for p in marked(mark)}
            return procs if "hang.test" in procs and "go" in procs else {}

        assert wait_for(lambda: bool(running()), run, 120), run.communicate(timeout=30)
        before = running()
        if target == "process":
            run.kill()
        else:
            os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs([before["go"], before["hang.test"]], timeout=30)
    assert alive == [], describe(alive)
    left = wait_until_gone(mark, 30)
    assert left == [], describe(left)


def test_without_the_watcher_a_killed_inv_would_leave_its_commands(project: Project) -> None:
    # The attack above is real: the same kill of a plain process in a session of its own
    # (what gotasks does for every command) leaves go test and its test binary running.
    mark = uuid.uuid4().hex
    go_test = subprocess.Popen(
        ["go", "test", "-count=1", "."],
        cwd=project.root / "hang",
        env=clean_env(**{MARK: mark}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = psutil.Process()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(p.info["name"] == "hang.test" for p in marked(mark)):
                break
            time.sleep(0.05)
        orphans = [p for p in marked(mark) if p.pid != go_test.pid]
        assert any(p.info["name"] == "hang.test" for p in orphans)
        go_test.kill()
        go_test.wait(timeout=30)
        time.sleep(1)
        assert any(p.info["name"] == "hang.test" for p in marked(mark)), "hang.test died with go"
    finally:
        for proc in marked(mark):
            if proc.pid != parent.pid:
                proc.kill()


@pytest.mark.e2e
def test_a_body_that_saw_the_signal_first_is_interrupted_not_failed(
    make_project: Callable[..., Project],
) -> None:
    # A task's Python work that calls check_stop() can see the stop signal before the run
    # has stopped that task's processes: it raises Stopped("interrupted") itself. That is
    # the same stop (INT), not a failure (a task once showed `FAIL ... interrupted`).
    project = make_project(example=False, git=False)
    project.write(
        "tasks.py",
        (project.root / "tasks.py").read_text()
        + "\nfrom gotasks.core.errors import Stopped\nfrom gotasks.engine import task\n\n\n"
        + "@task\ndef saw(c):\n    raise Stopped('interrupted')\n\n\n"
        + "@task\ndef other(c):\n    pass\n\n\n"
        + "@task(pre=[saw, other])\ndef both(c):\n    pass\n\n\n"
        + "ns.add_task(saw)\nns.add_task(other)\nns.add_task(both)\n",
    )
    result = project.inv("both")
    # No signal came (the body raised on its own), so the run's exit is a failed run's;
    # with the signal the run itself ends with 130 (the test above).
    assert result.returncode != 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "INT" in said and "saw" in said, said
    assert "FAIL" not in said, said
