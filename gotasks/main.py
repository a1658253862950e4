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

NAME = "gotasks"


def main() -> None:
    # First, and with nothing heavy imported yet: stops imports only the standard library's
    # signal plumbing and gotasks.core.cancel.
    from gotasks.engine import stops

    stops.take_over()
    from invoke.program import Program

    import gotasks
    from gotasks.engine.executor import Executor

    Program(
        name=NAME,
        binary=NAME,
        binary_names=[NAME],
        version=gotasks.__version__,
        executor_class=Executor,
    ).run()
