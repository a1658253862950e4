"""A command's output is handled in linear time: 20 MB from one test, and invoke's watchers
still answering prompts when they see only a bounded tail of the stream."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable

import pytest
from helpers import Project, require_go
from invoke.config import Config
from invoke.context import Context
from invoke.exceptions import Failure, ResponseNotAccepted
from invoke.watchers import FailingResponder, Responder

from gotasks.engine.procs import WATCH_TAIL, GroupRunner

MakeProject = Callable[..., Project]
LINES, WIDTH = 20_000, 1_000

LOUD_TEST = f"""package loud

import (
\t"fmt"
\t"strings"
\t"testing"
)

func TestLoud(t *testing.T) {{
\tline := strings.Repeat("x", {WIDTH})
\tfor i := 0; i < {LINES}; i++ {{
\t\tfmt.Println(line)
\t}}
}}

func TestLong(t *testing.T) {{
\t// One line of 2 MB: no newline for the line-splitting readers to cut at.
\tfmt.Print(strings.Repeat("y", 2_000_000))
\tfmt.Println()
}}
"""


def loud_project(make_project: MakeProject) -> Project:
    project = make_project(git=False)
    project.write("loud/go.mod", "module example.com/loud\n\ngo 1.22\n")
    project.write("loud/loud_test.go", LOUD_TEST)
    return project


@pytest.mark.e2e
@pytest.mark.parametrize("output", ["group", "prefixed"])
def test_a_test_printing_20_mb_is_reported(make_project: MakeProject, output: str) -> None:
    """Two modules, so the output is captured per task (a block, or prefixed lines); the run
    must end (Project.inv's timeout is the hang guard: no time is asserted)."""
    require_go()
    project = loud_project(make_project)
    result = project.inv("test", "--count", "1", "--output", output, "--junit", "junit.xml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "example.com/loud" in result.stdout and "2 passed" in result.stdout
    junit = (project.root / "junit.xml").read_text()
    assert 'name="TestLoud"' in junit and 'name="TestLong"' in junit


@pytest.mark.e2e
def test_a_single_loud_module_streams_through(make_project: MakeProject) -> None:
    require_go()
    project = loud_project(make_project)
    shutil.rmtree(project.root / "hello")
    result = project.inv("test", "--count", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 passed" in result.stdout


def run_with(command: str, *watchers: Responder) -> str:
    config = Config(overrides={"runners": {"local": GroupRunner}})
    result = Context(config=config).run(
        command, watchers=list(watchers), hide=True, in_stream=False, timeout=120
    )
    assert result is not None
    return str(result.stdout)


def test_watchers_answer_prompts_split_across_reads_after_long_output() -> None:
    """The prompt comes in two reads (a pause between its halves), after more output than
    the watcher's tail holds, and twice; each is answered once."""
    junk = 3 * WATCH_TAIL + 996
    prompt = "printf pass; sleep 0.3; printf word:"
    script = (
        f"head -c {junk} /dev/zero | tr '\\0' j; sleep 0.3; {prompt}; read a; echo got:$a;"
        f" head -c {5 * WATCH_TAIL} /dev/zero | tr '\\0' k; sleep 0.3; {prompt}; read b;"
        " echo got:$b"
    )
    out = run_with(f"bash -c {shlex.quote(script)}", Responder(r"password:", "s3cret\n"))
    assert out.count("got:s3cret") == 2, out[-200:]
    assert out.count("password:") == 2


def test_a_failing_responder_still_sees_its_sentinel() -> None:
    script = "printf 'password:'; read a; printf 'Sorry, try again.\\n'; read b"
    watcher = FailingResponder(r"password:", "wrong\n", sentinel=r"Sorry, try again\.")
    with pytest.raises(Failure, match="watcher error") as caught:
        run_with(f"bash -c {shlex.quote(script)}", watcher)
    assert isinstance(caught.value.reason, ResponseNotAccepted)
