"""The everyday loop (issue 10): tasks admitted at the CPU they used, early answers, `ci`
reporting every check's own verdict, an interrupted run reported as interrupted."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, require_go

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
