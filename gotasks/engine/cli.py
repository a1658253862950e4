"""invoke's command line in gotasks' words: usage errors say what was meant and exit 2, and
`inv -h TASK` lists that task's own options.

`inv` is invoke's Program; it imports tasks.py (and so this module) before it parses the
task part of the command line, so patching Program methods here changes that parse.
Only the messages and exit codes change: what parses, and how, stays invoke's.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.parser import Parser
from invoke.parser.context import ParserContext
from invoke.program import Program

from gotasks.core import collector
from gotasks.engine import stops

USAGE_EXIT = 2  # make's and go's code for "that command line is wrong"
SIGPIPE_EXIT = 128 + 13  # the shell's code for a command that SIGPIPE ended

_UNKNOWN = re.compile(r"^No idea what '(.+)' is!$")
# "Flag <_CheckedArgument: env> needed value ..." / "Flag <Argument: list (l)> ..."
_NO_VALUE = re.compile(r"^Flag <\w+: ([\w-]+)[^>]*> needed value and was not given one!$")
_NO_VALUE_TAKEN = re.compile(r"^Flag <\w+: ([\w-]+)[^>]*> doesn't take any value!$")


def install(run_wide: list[str]) -> None:
    """Patch invoke's Program (once). `run_wide`: the flags every task takes, which
    `inv -h TASK` names in one closing line instead of documenting them in every task."""
    if getattr(Program, "_gotasks_cli", False):
        return
    Program._gotasks_cli = True  # type: ignore[attr-defined]
    parse_tasks, parse_cleanup = Program.parse_tasks, Program.parse_cleanup
    print_task_help = Program.print_task_help

    def gotasks_parse_tasks(self: Program) -> None:
        if stops.loaded_by_inv():
            # The tasks just loaded (thousands in a monorepo) live as long as `inv`: out of
            # the cycle collector's full passes from here on (see executor._collector_spared).
            collector.freeze()
        try:
            parse_tasks(self)
        except ParseError as error:
            message = usage_message(error, _task_names(self), _core_flags(self), _command(self))
            raise Exit(message, USAGE_EXIT) from None

    def gotasks_parse_cleanup(self: Program) -> None:
        try:
            parse_cleanup(self)
        except ParseError as error:
            message = usage_message(error, _task_names(self), [], _command(self))
            raise Exit(message, USAGE_EXIT) from None
        except BrokenPipeError:
            # `inv --list | head`: the reader has gone. Say nothing more (Python would print
            # a traceback, then fail again flushing stdout at exit) and end as a command
            # killed by SIGPIPE does, as `ls | head` and `git log | head` do.
            quiet_closed_stdout()
            raise Exit(code=SIGPIPE_EXIT) from None

    def gotasks_print_task_help(self: Program, name: str) -> None:
        print_task_help_filtered(self, name, run_wide, print_task_help)

    Program._make_parser = make_parser  # type: ignore[method-assign,assignment]
    Program.parse_tasks = gotasks_parse_tasks  # type: ignore[method-assign]
    Program.parse_cleanup = gotasks_parse_cleanup  # type: ignore[method-assign]
    Program.print_task_help = gotasks_print_task_help  # type: ignore[method-assign]


def quiet_closed_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's flush at exit has nowhere to
    fail (the Python documentation's advice for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def make_parser(program: Program) -> Parser:
    """invoke's task parser with a context for each task the command line names, not for
    every task: invoke builds each task's flags and deep-copies all of them on every parse,
    seconds in a monorepo of thousands of tasks. A word that names no task finds no context
    either way, so what parses, and every error, stays the same."""
    collection: Any = program.collection
    words = set(program.core.unparsed)
    asked = program.args.help.value  # `inv -h TASK`
    if isinstance(asked, str):
        words.add(asked)
    if program.args.complete.value:
        # `--complete -- inv TASK --fl`: the words being completed are after the `--`.
        with contextlib.suppress(ValueError):  # an unclosed quote: no task named there
            words.update(shlex.split(program.core.remainder))
    ignore_unknown_help = program.config.tasks.ignore_unknown_help
    contexts = [
        ParserContext(
            name=name,
            aliases=aliases,
            args=collection[name].get_arguments(ignore_unknown_help=ignore_unknown_help),
        )
        for name, aliases in collection.task_names.items()
        if name in words or not words.isdisjoint(aliases)
    ]
    return Parser(initial=program.initial_context, contexts=contexts)


def usage_message(
    error: ParseError, tasks: list[str], core_flags: list[str], command: str = "inv"
) -> str:
    """One line for one of invoke's parse errors, with the closest name when there is one."""
    text = str(error)
    context: ParserContext | None = error.context
    unknown = _UNKNOWN.match(text)
    if unknown:
        word = unknown.group(1)
        if word.startswith("-"):
            flags = [*(context.flags if context is not None else ()), *core_flags]
            where = f" for '{context.name}'" if context is not None and context.name else ""
            return f"unknown flag '{word}'{where}" + (did_you_mean(word.split("=")[0], flags) or "")
        return f"unknown task '{word}'" + (
            did_you_mean(word, tasks) or f" (`{command} --list` shows the tasks)"
        )
    no_value = _NO_VALUE.match(text)
    if no_value:
        flag = _flag(no_value.group(1))
        return f"{flag} needs a value ({flag}=VALUE)"
    no_value_taken = _NO_VALUE_TAKEN.match(text)
    if no_value_taken:
        return f"{_flag(no_value_taken.group(1))} takes no value"
    return text[0].lower() + text[1:] if text else "bad command line"


def did_you_mean(word: str, names: Iterable[str]) -> str | None:
    """ "; did you mean 'test'?" for the closest of `names`, else None. Dashes are not
    compared: every flag has them, which would make --foo look like --go."""
    bare = {name.lstrip("-"): name for name in names}
    close = difflib.get_close_matches(word.lstrip("-"), sorted(bare), n=1, cutoff=0.6)
    return f"; did you mean '{bare[close[0]]}'?" if close else None


def _command(program: Program) -> str:
    """The command the user typed, for the hint: `gotasks`, else invoke's `inv`."""
    return "gotasks" if program.binary == "gotasks" else "inv"


def _flag(name: str) -> str:
    return ("-" if len(name) == 1 else "--") + name.replace("_", "-")


def _task_names(program: Program) -> list[str]:
    collection: Any = getattr(program, "collection", None)
    if collection is None:
        return []
    names: list[str] = list(collection.task_names)
    for aliases in collection.task_names.values():
        names += aliases
    return names


def _core_flags(program: Program) -> list[str]:
    return [name for name in program.initial_context.flags if name.startswith("--")]


def print_task_help_filtered(
    program: Program, name: str, run_wide: list[str], invoke_help: Callable[[Program, str], None]
) -> None:
    """invoke's per-task help, minus the run-wide options, which one closing line names."""
    context = program.parser.contexts[name]
    own = set(_own_flags(program, name))
    hidden = [flag for flag in map(_long_flag, run_wide) if flag not in own]
    rows = [row for row in context.help_tuples() if _long_flag(row[0]) not in hidden]
    original = context.help_tuples
    context.help_tuples = lambda: rows
    try:
        invoke_help(program, name)
    finally:
        context.help_tuples = original
    if hidden:
        print(f"Run-wide options (README, Tasks): {', '.join(hidden)}")


def _long_flag(column: str) -> str:
    """'-j INT, --jobs=INT' -> '--jobs'."""
    found = re.findall(r"--[\w-]+", column)
    return found[0] if found else column


def _own_flags(program: Program, name: str) -> list[str]:
    task = program.collection[name]
    own = getattr(task, "own_options", None)
    if own is None:
        return []
    return [_flag(option) for option in own]
