"""hide= means hidden, in a run of one task and in a run of several (where each task's config
routes its output: invoke would otherwise show any stream that is set)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import Project

TASKS = """

from gotasks.engine import task as _task


@_task(cpu=0.1, mem="32M")
def quiet(c):
    c.run("echo hidden-out; echo hidden-err >&2", hide=True)
    c.run("echo shown-err >&2; echo dropped-out", hide="out")
    print("printed")


@_task(cpu=0.1, mem="32M")
def other(c):
    c.run("true")


@_task(pre=[quiet, other], cpu=0.1, mem="32M")
def both(c):
    pass


ns.add_task(quiet)
ns.add_task(other)
ns.add_task(both)
"""


@pytest.mark.parametrize("target", ["quiet", "both"])
def test_hidden_output_stays_hidden(make_project: Callable[..., Project], target: str) -> None:
    project = make_project(example=False, git=False)
    (project.root / "tasks.py").write_text((project.root / "tasks.py").read_text() + TASKS)
    out = project.inv(target)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert "hidden-out" not in text and "hidden-err" not in text and "dropped-out" not in text
    assert "shown-err" in text and "printed" in text
    if target == "quiet":  # a run of one task: stderr stays stderr
        assert "shown-err" in out.stderr and "printed" in out.stdout
