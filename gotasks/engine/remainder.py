"""What follows a standalone `--` on the command line: words for the tool a task runs."""

from __future__ import annotations

import shlex
import sys

from invoke.context import Context


def remainder_args(c: Context) -> list[str]:
    """The words after `--` (`inv test -- -run 'Test A'`), as the shell split them.

    invoke keeps them joined by spaces (Context.remainder), which loses the shell's
    quoting; the process's own argv still has them whole.
    """
    text: str = c.remainder
    if not text:
        return []
    argv = sys.argv
    if "--" in argv:
        words = argv[argv.index("--") + 1 :]
        if " ".join(words) == text:
            return words
    return shlex.split(text)
