"""The everyday loop (issue 10): tasks admitted at the CPU they used, early answers, `ci`
reporting every check's own verdict, an interrupted run reported as interrupted."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import Project, clean_env, require_go

pytestmark = pytest.mark.e2e

MakeProject = Callable[..., Project]
CHECKS = ("lint[hello]", "test[hello]", "build[hello]")


def complete_events(trace: Path) -> dict[str, dict[str, Any]]:
    events = json.loads(trace.read_text())["traceEvents"]
    return {e["name"]: e for e in events if e.get("ph") == "X"}


def overlap(x: dict[str, Any], y: dict[str, Any]) -> bool:
    return bool(x["ts"] < y["ts"] + y["dur"] and y["ts"] < x["ts"] + x["dur"])


def test_after_a_warm_up_lint_test_and_build_run_side_by_side_on_two_cores(
    make_project: MakeProject,
) -> None:
    require_go()
    project = make_project()
    env = {"GOTASKS_CPUS": "2"}
    first = project.inv("ci", "--trace", "1.json", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    # Without history, each claims what it declares (test and build 2 cores): one at a time.
    cold = complete_events(project.root / "1.json")
    assert [cold[n]["args"]["cpu_claim"] for n in CHECKS] == [1.0, 2.0, 2.0]
    assert not any(overlap(cold[x], cold[y]) for x, y in itertools.combinations(CHECKS, 2))

    second = project.inv("ci", "--trace", "2.json", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    warm = complete_events(project.root / "2.json")
    claims = {n: warm[n]["args"]["cpu_claim"] for n in CHECKS}
    # Admitted at what they used: below their claims (the machine is shared and loaded,
    # but none of these used its whole claim), never above.
    assert all(0.1 <= claims[n] < declared for n, declared in zip(CHECKS, (1, 2, 2), strict=True))
    pairs = list(itertools.combinations(CHECKS, 2))
    if sum(claims.values()) <= 2.0:
        # All three fit two cores: they start together.
        assert all(overlap(warm[x], warm[y]) for x, y in pairs), claims
    else:
        # A busy machine made one of them look heavy: still, two of them share the cores.
        assert any(overlap(warm[x], warm[y]) for x, y in pairs), claims
    # The summary shows the declared claim and the one admitted.
    table = second.stdout.split("\nsummary\n", 1)[1]
    assert "claim" in table.splitlines()[0]
    build_line = next(line for line in table.splitlines() if line.strip().startswith("build"))
    assert build_line.split()[-1] == f"2>{claims['build[hello]']:.2f}".rstrip("0").rstrip(".")


FAILING_TEST = """package greet

import "testing"

func TestBrokenOnPurpose(t *testing.T) { t.Fatal("broken on purpose") }
"""


def seed_history(project: Project, durations: dict[str, float]) -> None:
    """Past runs as gotasks records them: one sample per task."""
    samples = {
        name: [{"duration": d, "peak_rss": 50 * 2**20, "cpu_seconds": d * 0.5}]
        for name, d in durations.items()
    }
    project.write(".gotasks/history.json", json.dumps({"version": 1, "tasks": samples}))


def verdicts(stdout: str) -> dict[str, str]:
    table = stdout.split("\nsummary\n", 1)[1].split("critical path", 1)[0]
    rows = [line.split() for line in table.splitlines()[1:] if line.strip()]
    return {row[0]: row[1] for row in rows}


def test_ci_reports_every_check_after_a_test_failure_and_fail_fast_stops(
    make_project: MakeProject,
) -> None:
    require_go()
    project = make_project()
    project.write("hello/greet/broken_test.go", FAILING_TEST)
    # One task at a time, test first (past runs say it is the quickest answer): lint and
    # build start only after test failed.
    seed_history(project, {"test[hello]": 0.5, "lint[hello]": 5.0, "build[hello]": 20.0})
    run = project.inv("ci", "-j", "1", "--trace", "t.json")
    assert run.returncode == 1, run.stdout + run.stderr
    assert verdicts(run.stdout) == {
        "lint[hello]": "ok",
        "test[hello]": "FAIL",
        "build[hello]": "ok",
        "ci": "skip",  # it depends on the failed test
    }
    events = complete_events(project.root / "t.json")
    test_end = events["test[hello]"]["ts"] + events["test[hello]"]["dur"]
    assert events["lint[hello]"]["ts"] >= test_end and events["build[hello]"]["ts"] >= test_end
    assert "TestBrokenOnPurpose" in run.stdout

    seed_history(project, {"test[hello]": 0.5, "lint[hello]": 5.0, "build[hello]": 20.0})
    fast = project.inv("ci", "-j", "1", "--fail-fast")
    assert fast.returncode == 1, fast.stdout + fast.stderr
    assert verdicts(fast.stdout) == {
        "lint[hello]": "skip",
        "test[hello]": "FAIL",
        "build[hello]": "skip",
        "ci": "skip",
    }
    # A plain task run (not ci) stops at its first failure as before: lint then test.
    project.write("hello/greet/ugly.go", "package greet\nfunc  ugly() {}\n")
    plain = project.inv("lint", "test", "-j", "1")
    assert plain.returncode == 1
    assert list(verdicts(plain.stdout).values()).count("skip") == 1, plain.stdout


SLOW_TEST = """package greet

import (
	"testing"
	"time"
)

func TestTakesAMinute(t *testing.T) { time.Sleep(60 * time.Second) }
"""


def spawned_processes(name: str, parent: int) -> list[psutil.Process]:
    """The processes `name` that `parent` started (other test runs on this machine run the
    example's tests too)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == name and parent in {p.pid for p in proc.parents()}:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_ctrl_c_during_ci_reports_the_test_as_interrupted_not_failed(
    make_project: MakeProject,
) -> None:
    require_go()
    project = make_project(name="interrupt-me")
    project.write("hello/greet/slow_test.go", SLOW_TEST)
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", "ci", "--count", "1"],
        cwd=project.root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The test binary (greet.test) is running its minute-long test: now Ctrl-C.
        deadline = time.monotonic() + 120
        while not spawned_processes("greet.test", run.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        binaries = spawned_processes("greet.test", run.pid)
        assert binaries, "the test binary never started"
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, stdout + stderr
    assert verdicts(stdout)["test[hello]"] == "INT", stdout
    block = stdout.split("INT  test[hello]", 1)[1].split("\nsummary\n", 1)[0]
    assert block.splitlines()[0].endswith(": interrupted"), block
    # Not a report of failed tests made from the killed binary's cut-off output.
    assert "FAIL" not in block and "TestTakesAMinute" not in block, block
    assert "packages failed" not in stdout + stderr
    assert "interrupted" in stderr
    time.sleep(0.3)
    assert not any(proc.is_running() for proc in binaries)


def test_a_new_main_package_is_built_though_the_main_packages_were_remembered(
    make_project: MakeProject,
) -> None:
    require_go()
    project = make_project()
    first = project.inv("build", "--host")
    assert first.returncode == 0, first.stdout + first.stderr
    assert list((project.root / ".gotasks" / "cache").glob("main-packages-*.json"))
    project.write("hello/cmd/extra/main.go", "package main\n\nfunc main() {}\n")
    second = project.inv("build", "--host")
    assert second.returncode == 0, second.stdout + second.stderr
    built = {p.name for p in (project.root / "dist").glob("hello_*/*")}
    assert {"hello", "extra"} <= built, built
    # A package that stops being main is no longer built (nor listed).
    project.write("hello/cmd/extra/main.go", "package extra\n")
    third = project.inv("build", "--host", "--package", "./cmd/extra")
    assert third.returncode == 2, third.stdout + third.stderr
    assert "no main package './cmd/extra'" in third.stderr
