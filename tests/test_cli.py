"""invoke's command line in gotasks' words: a wrong name gets the closest one and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from helpers import Project, clean_env
from invoke.exceptions import ParseError

from gotasks.engine.cli import did_you_mean

MakeProject = Callable[..., Project]


def test_the_closest_name_is_suggested_and_a_far_one_is_not() -> None:
    assert did_you_mean("tset", ["test", "lint", "build"]) == "; did you mean 'test'?"
    assert did_you_mean("--evn", ["--env", "--go"]) == "; did you mean '--env'?"
    # The dashes every flag has do not make --foo look like --go.
    assert did_you_mean("--foo", ["--env", "--go"]) is None


@pytest.fixture
def project(make_project: MakeProject) -> Project:
    return make_project(example=False, git=False)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["tset"], "unknown task 'tset'; did you mean 'test'?"),
        (["-h", "tset"], "unknown task 'tset'; did you mean 'test'?"),
        (["sdk.instal"], "unknown task 'sdk.instal'; did you mean 'sdk.install'?"),
        (["test", "--evn=prod"], "unknown flag '--evn' for 'test'; did you mean '--env'?"),
        (["build", "--verfy"], "unknown flag '--verfy' for 'build'; did you mean '--verify'?"),
        (["test", "--env"], "--env needs a value (--env=VALUE)"),
        (["bench", "--count"], "--count needs a value (--count=VALUE)"),
    ],
)
def test_a_wrong_command_line_is_one_line_exit_2(
    project: Project, args: list[str], wanted: str
) -> None:
    out = project.inv(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == wanted
    assert "<_CheckedArgument" not in out.stderr and "No idea" not in out.stderr


@pytest.mark.e2e
def test_task_help_lists_the_tasks_own_options_and_names_the_run_wide_ones(
    project: Project,
) -> None:
    out = project.inv("-h", "test")
    assert out.returncode == 0, out.stderr
    options = out.stdout.split("Options:")[1]
    assert "--race" in options and "--junit" in options  # test's own
    lines = options.splitlines()
    own = [line for line in lines if line.startswith("  -")]
    assert not any("--keep-going" in line or "--trace" in line for line in own)
    footer = [line for line in lines if line.startswith("Run-wide options")]
    assert len(footer) == 1 and "--env" in footer[0] and "--keep-going" in footer[0]


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["--list"], ["-h", "test"]], ids=["list", "task-help"])
def test_a_reader_that_has_gone_ends_the_listing_quietly_as_sigpipe_would(
    project: Project, args: list[str]
) -> None:
    """`inv --list | head -1`: the pipe's reader is gone before invoke prints (its end is
    closed before the start, so every write fails); no traceback, the shell's SIGPIPE code."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=project.root,
            env=clean_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert done.stderr == "", done.stderr


def test_the_task_parser_holds_only_the_tasks_the_command_line_names() -> None:
    """invoke deep-copies every parser context on every parse: in a monorepo of thousands
    of tasks only the named ones (by name or alias, and `-h TASK`'s) get one, and the
    command line still parses as with all of them."""
    from invoke import Collection, Program

    from gotasks.engine import task
    from gotasks.engine.cli import make_parser

    def body(c: object, module: str = "") -> None:
        pass

    collection = Collection()
    for i in range(200):
        collection.add_task(task(name=f"t{i}")(body))
    collection.add_task(task(name="build", aliases=("b",))(body))

    def parsed(*argv: str) -> tuple[set[str], list[tuple[str, str]]]:
        program = Program(namespace=collection)
        program.create_config()
        program.parse_core(["inv", *argv])
        program.parse_collection()
        parser = make_parser(program)
        if program.args.help.value:
            return set(parser.contexts), []
        result = parser.parse_argv(program.core.unparsed)[1:]
        return set(parser.contexts), [(c.name, c.args.module.value) for c in result]

    # t4 is a flag's value here, not a task: a context more is harmless, none is missing.
    contexts, tasks = parsed("t3", "--module", "t4", "b", "--module=x")
    assert contexts == {"t3", "t4", "build"}
    assert tasks == [("t3", "t4"), ("build", "x")]
    assert parsed("-h", "t7")[0] == {"t7"}
    with pytest.raises(ParseError, match="No idea what 'nothing' is"):
        parsed("t1", "nothing")
