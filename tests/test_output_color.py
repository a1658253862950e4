"""A tool's own colours reach the screen only where gotasks would paint too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import Project

from gotasks.core.console import ColorStripper

MakeProject = Callable[..., Project]

TASKS = r"""

from gotasks.engine import task as _task


@_task(cpu=0.1, mem="10M")
def colored(c):
    c.run("printf '\033[1;31mred\033[0m and \033[32mgreen\033[0m\n'")
    c.run("printf '\033[33mwarned\033[0m\n' >&2")


@_task(pre=[colored], cpu=0.1, mem="10M")
def both(c):
    pass


ns.add_task(colored)
ns.add_task(both)
"""


def test_a_colour_code_cut_between_two_chunks_is_still_stripped() -> None:
    stripper = ColorStripper()
    chunks = ["plain \x1b[1", ";31mred\x1b", "[0m done\n"]
    assert "".join(stripper.feed(chunk) for chunk in chunks) == "plain red done\n"


@pytest.fixture
def project(make_project: MakeProject) -> Project:
    project = make_project(example=False, git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(TASKS)
    return project


@pytest.mark.e2e
@pytest.mark.parametrize("task", ["colored", "both"])  # one task streams; several are grouped
def test_tool_colours_are_stripped_when_piped(project: Project, task: str) -> None:
    out = project.inv(task, env={"NO_COLOR": ""})  # piped, and NO_COLOR unset
    assert out.returncode == 0, out.stdout + out.stderr
    both = out.stdout + out.stderr
    assert "red and green" in both and "warned" in both
    assert "\x1b" not in both


@pytest.mark.e2e
def test_no_color_strips_them_even_where_colour_is_forced(project: Project) -> None:
    forced = project.inv("colored", env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[1;31mred" in forced.stdout  # the tool's colours pass where colour is on
    out = project.inv("colored", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "red and green" in out.stdout and "\x1b" not in out.stdout + out.stderr
