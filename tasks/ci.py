"""`inv ci`: lint, test and build of every module, as one graph."""

from __future__ import annotations

from invoke.context import Context

from tasks.build import build
from tasks.engine import console, task
from tasks.lint import lint
from tasks.test import test


@task(pre=[lint, test, build], cpu=0.1, mem="16M")
def ci(c: Context) -> None:
    """Lint, test and build every module with the selected env (--env)."""
    console.header(f"ci: done ({c.config.gotasks.env})")
