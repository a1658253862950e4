"""`inv env`: the effective Go environment and tags as shell export lines."""

from __future__ import annotations

import os

from invoke.context import Context

from gotasks.context import toolchain_of
from gotasks.core import scrub
from gotasks.engine import task


@task(
    dry=True,
    name="env",
    cpu=0.1,
    mem="64M",
    help={"reveal": "print credentials in proxy URLs instead of redacting them"},
)
def show_env(c: Context, reveal: bool = False) -> None:
    """Print the selected env's Go settings as `export` lines: eval "$(inv env)"."""
    _, environment = toolchain_of(c.config)
    text = "\n".join(environment.export_lines(os.environ, reveal=reveal))
    if reveal:
        with scrub.revealed():  # asked for in so many words: not hidden on the way out
            print(text)
    else:
        print(text)
