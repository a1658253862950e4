"""gofmt's verdict on a module's files, whatever their names.

`gofmt -l` prints one name a line, and invoke reads that output as text: a name that is not
one printable line (a line break in it, bytes that are not UTF-8) cannot be read back from
it, so such a file is judged alone, by whether gofmt printed anything at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from invoke.runners import Result

from gotasks.go.sources import batches, shown_path

# gofmt ARGS, run in the folder the names are relative to.
Gofmt = Callable[[list[str]], Result]

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass
class Verdict:
    unformatted: list[str] = field(default_factory=list)  # in the order given
    errors: list[str] = field(default_factory=list)  # gofmt's own lines: files it cannot parse


def judge(gofmt: Gofmt, files: list[str]) -> Verdict:
    """Which of `files` gofmt would change (`--`: a name may start with '-')."""
    verdict = Verdict()
    alone = [name for name in files if not name.isprintable()]
    for batch in batches([name for name in files if name.isprintable()]):
        result = gofmt(["-l", "--", *batch])
        listed = {line for line in result.stdout.split("\n") if line}
        if listed - set(batch):
            # A name that did not come back as given (a locale that is not UTF-8): one by one.
            alone += batch
            continue
        verdict.unformatted += [name for name in batch if name in listed]
        verdict.errors += _errors(result)
    for name in alone:
        result = gofmt(["-l", "--", name])
        if result.stdout:
            verdict.unformatted.append(name)
        # gofmt names the file as it is; the message names it so that it stays one line.
        verdict.errors += _errors(result, _printed(name), shown_path(name))
    order = {name: index for index, name in enumerate(files)}
    verdict.unformatted.sort(key=order.__getitem__)
    return verdict


def _printed(name: str) -> str:
    """`name` as it reads in gofmt's output (a byte that is not UTF-8 replaced)."""
    return os.fsencode(name).decode("utf-8", "replace")


def _errors(result: Result, printed: str = "", shown: str = "") -> list[str]:
    text = result.stderr
    if printed and printed != shown:
        text = text.replace(printed + ":", shown + ":")
    lines = [line for line in text.splitlines() if line.strip()]
    if result.exited != 0 and not lines:
        lines = [f"gofmt: exit {result.exited}"]
    return lines


def first_changed_line(diff: str, name: str) -> int:
    """From `gofmt -d NAME`: the first line (of the file as it is) that gofmt changes."""
    # The header names the file (`+++ NAME`), and a name may hold a line that looks like a
    # hunk: the hunks are what follows the header.
    header_end = f"+++ {_printed(name)}\n"
    _, found, hunks = diff.partition(header_end)
    old: int | None = None  # within a hunk: the next line's number
    for line in (hunks if found else diff).split("\n"):
        hunk = _HUNK.match(line)
        if hunk:
            old = int(hunk.group(1))
        elif old is not None:
            if line.startswith(("-", "+")):
                return max(old, 1)
            old += 1  # a context line (" text", or "" for an empty one)
    return 1  # a change no hunk showed (it cannot happen with gofmt's diff): from line 1
