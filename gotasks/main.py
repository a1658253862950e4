"""`gotasks`: the command that runs a project's tasks, invoke's Program under gotasks' name.

It is `inv` with three differences, which are why it exists:
- it comes with gotasks' own distribution, so `pipx install`/`uv tool install` (which put
  only the installed distribution's own scripts on PATH, never its dependencies') and the
  pre-commit framework's `language: python` hook have it;
- gotasks' executor is built in: no invoke.yaml is needed for it (one that names another
  executor still wins, as in `inv`);
- the stop signals are gotasks' from its first statement, before invoke and the project's
  tasks.py load, so a Ctrl-C, SIGTERM or SIGHUP at any moment after Python has started
  ends it with 130 and no output (`inv` is Python's until tasks.py loads).

The project's tasks.py is found as `inv` finds it (here or in a parent folder, or
--search-root); the rest of the command line is invoke's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Nothing of invoke (nor anything slow) at the top: `from gotasks.main import main` runs
# before main's first statement takes the signals.
if TYPE_CHECKING:
    from invoke.collection import Collection
    from invoke.program import Program

NAME = "gotasks"
USAGE_EXIT = 2


def main() -> None:
    # First, and with nothing heavy imported yet: stops imports only the standard library's
    # signal plumbing and gotasks.core.cancel.
    from gotasks.engine import stops

    stops.take_over()
    import gotasks
    from gotasks.engine.executor import Executor

    _program_class()(
        name=NAME,
        binary=NAME,
        binary_names=[NAME],
        version=gotasks.__version__,
        executor_class=Executor,
    ).run()


def _program_class() -> type[Program]:
    from invoke.exceptions import Exit
    from invoke.program import Program

    class GotasksProgram(Program):
        """invoke's Program; where no tasks.py is found, `gotasks init` still works (a fresh
        repository, with gotasks installed by pipx or pip), and any other task is one line
        saying how to set the repository up."""

        def load_collection(self) -> None:
            try:
                super().load_collection()
            except Exit:
                if self.args["collection"].value or self.args["search-root"].value:
                    raise
                self.collection = _outside_a_project(self.core.unparsed)

    return GotasksProgram


def _outside_a_project(words: list[str]) -> Collection:
    """The tasks of `gotasks` run where no tasks.py is: init alone."""
    from pathlib import Path

    from invoke.collection import Collection
    from invoke.exceptions import Exit

    import gotasks

    tasks = [word for word in words if not word.startswith("-")]
    if tasks and tasks[0] != "init":
        raise Exit(
            f"gotasks {tasks[0]}: no tasks.py in {Path.cwd()} or a folder above it;"
            " `gotasks init .` sets this Go repository up",
            USAGE_EXIT,
        )
    everything = gotasks.namespace()
    outside = Collection()
    outside.add_task(everything["init"], name="init")
    outside.configure(everything.configuration())
    return outside
