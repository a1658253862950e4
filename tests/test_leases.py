"""Runs of gotasks on one machine share one CPU and memory budget through lease files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from helpers import Project, clean_env

from gotasks.engine.admission import Job, Limits, admit
from gotasks.engine.leases import Lease, Leases, SharedMachine

MakeProject = Callable[..., Project]
MARKER = "gotasks-lease-test"


def test_a_dead_runs_lease_is_removed_and_a_live_one_counts(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = Lease(child.pid, psutil.Process(child.pid).create_time(), "/a", "inv ci", 1.5, 2**30)
        (tmp_path / f"{child.pid}.json").write_text(json.dumps(live.__dict__))
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        started = psutil.Process(dead.pid).create_time()
        dead.wait()
        (tmp_path / f"{dead.pid}.json").write_text(
            json.dumps(Lease(dead.pid, started, "/b", "inv ci", 2.0, 2**30).__dict__)
        )
        # a pid in use by a later process is not the run that wrote the lease
        reused = Lease(os.getppid(), 12.0, "/c", "inv ci", 2.0, 2**30)
        (tmp_path / f"{os.getppid()}.json").write_text(json.dumps(reused.__dict__))
        mine = Leases(tmp_path, "/me")
        assert mine.others() == [live]
        assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"{child.pid}.json"]
    finally:
        child.kill()
        child.wait()


def test_this_runs_share_is_what_the_others_leave_and_a_full_machine_means_wait() -> None:
    limits = Limits(cpus=2.0, memory=4 * 2**30, jobs=0, pools={})
    holder = Lease(1, 0.0, "/a", "inv ci", 1.5, 2**30)
    share = SharedMachine.share_of(limits, [holder])
    assert (share.cpus, share.memory) == (0.5, 3 * 2**30)
    big = Job("test", cpu=1.5, mem=2**30)
    # Alone, a big job starts when nothing runs; with another run holding the machine it waits.
    assert admit([big], [], limits, memory_low=False) == [big]
    assert admit([big], [], share, memory_low=False, others_hold=True) == []
    small = Job("vet", cpu=0.5, mem=2**20)
    assert admit([big, small], [], share, memory_low=False, others_hold=True) == [small]
    env = Job("env", cpu=0.1, mem=2**20)  # light: never waits for other runs
    full = SharedMachine.share_of(limits, [Lease(1, 0.0, "/a", "inv ci", 2.0, 2**30)])
    assert admit([env], [], full, memory_low=False, others_hold=True) == [env]


TASKS = f"""

import time as _time
import sys as _sys

from gotasks.engine import task as _task


@_task(cpu=1.5, mem="50M")
def hog(c, seconds=2.0):
    with open("spans.txt", "a") as spans:
        spans.write(f"start {{_time.time()}}\\n")
    c.run(f"{{_sys.executable}} -c 'import time; time.sleep({{seconds}})' {MARKER}")
    with open("spans.txt", "a") as spans:
        spans.write(f"end {{_time.time()}}\\n")


ns.add_task(hog)
"""


@pytest.fixture
def projects(make_project: MakeProject) -> Iterator[list[Project]]:
    made = []
    for name in ("one", "two"):
        project = make_project(example=False, git=False, name=name)
        with (project.root / "tasks.py").open("a") as handle:
            handle.write(TASKS)
        made.append(project)
    yield made
    for proc in psutil.process_iter(["cmdline"]):
        if MARKER in " ".join(proc.info["cmdline"] or []):
            proc.kill()


def start(project: Project, leases: Path, *args: str) -> subprocess.Popen[str]:
    env = clean_env(GOTASKS_CPUS="2", GOTASKS_LEASE_DIR=str(leases))
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "hog", *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def span(project: Project) -> tuple[float, float]:
    words = dict(line.split() for line in (project.root / "spans.txt").read_text().splitlines())
    return float(words["start"]), float(words["end"])


@pytest.mark.e2e
def test_two_runs_at_once_share_the_machine_instead_of_each_taking_it(
    projects: list[Project], tmp_path: Path
) -> None:
    leases = tmp_path / "leases"
    runs = [start(project, leases) for project in projects]
    outs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outs, strict=True):
        assert run.returncode == 0, stdout + stderr
    first, second = sorted((span(p), i) for i, p in enumerate(projects))
    # 1.5 + 1.5 CPUs do not fit in 2: the second run's task starts after the first's ends.
    assert second[0][0] >= first[0][1], (first, second)
    waited = outs[second[1]][1]
    holder = runs[first[1]].pid
    assert f"waiting: other gotasks runs hold the machine: pid {holder} (`inv hog` in " in waited
    assert "holds 1.5 CPUs" in waited
    assert not list(leases.glob("*.json"))  # each run took its lease away when it ended


@pytest.mark.e2e
def test_a_killed_runs_share_is_freed(projects: list[Project], tmp_path: Path) -> None:
    leases = tmp_path / "leases"
    killed = start(projects[0], leases, "--seconds", "600")
    lease = leases / f"{killed.pid}.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if lease.exists() and json.loads(lease.read_text()).get("cpu"):
            break
        time.sleep(0.2)
    else:
        killed.kill()
        pytest.fail("the first run never published its lease")
    killed.send_signal(signal.SIGKILL)  # no cleanup of its own: the lease stays behind
    killed.communicate()
    assert lease.exists()
    out = start(projects[1], leases, "--seconds", "0.5")
    stdout, stderr = out.communicate(timeout=300)
    assert out.returncode == 0, stdout + stderr
    assert "waiting" not in stderr  # the dead run's lease counted for nothing
    assert not lease.exists()
