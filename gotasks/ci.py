"""`inv ci`: lint, test and build of every module, as one graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.core import console
from gotasks.engine import ResourceTask, task

if TYPE_CHECKING:
    pass


def ci_task(lint: ResourceTask, test: ResourceTask, build: ResourceTask) -> ResourceTask:
    """`inv ci` over the given tasks: the namespace hands them in, so that no task module
    imports another (see ARCHITECTURE.md)."""
    from gotasks.go.testflags import TEST_FLAGS, TEST_HELP

    # Its flags are its pre tasks' flags: the executor hands each to the tasks that take it
    # (--module to lint, test and build; the test flags to test), as `forwards` says.
    @task(
        pre=[lint, test, build],
        cpu=0.1,
        mem="16M",
        dry=True,
        keep_going=True,
        forwards=TEST_FLAGS,
        help={
            **TEST_HELP,
            "module": "only this module (lint, test and build); default: every module",
        },
    )
    def ci(
        c: Context,
        race: bool = False,
        cover: bool = False,
        html: bool = False,
        run: str | None = None,
        count: int = 0,
        short: bool = False,
        failfast: bool = False,
        verbose: bool = False,
        packages: str | None = None,
        junit: str | None = None,
        module: str | None = None,
    ) -> None:
        """Lint, test and build every module with the selected env (--env).

        The test flags and the words after `--` go to its test task."""
        console.header(f"ci: done ({c.config.gotasks.env})")

    return ci
