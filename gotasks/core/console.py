"""Console output: coloured when stdout is a terminal and NO_COLOR is unset."""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO


def use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    # During a run sys.stdout is gotasks' router; the terminal is what stands behind it.
    stream = getattr(sys.stdout, "real", sys.stdout)
    return bool(stream.isatty())


def paint(text: str, *styles: str) -> str:
    """text in colorama's styles by name ("green", "bright", "dim"), where colour is on;
    colorama is loaded only then (a run into a pipe or with NO_COLOR never pays for it)."""
    if not use_color() or not styles:
        return text
    from colorama import Fore, Style

    codes = "".join(
        getattr(Style, name.upper(), None) or getattr(Fore, name.upper()) for name in styles
    )
    return f"{codes}{text}{Style.RESET_ALL}"


_MARKS = {
    "ok": ("ok", "green"),
    "failed": ("FAIL", "red"),
    "killed": ("KILL", "red"),
    "timeout": ("TIME", "red"),
    "skipped": ("skip", "yellow"),
    "interrupted": ("INT", "yellow"),
    "uptodate": ("up", "green"),  # up to date: its last success stands, nothing ran
}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_color(text: str) -> str:
    return _ANSI.sub("", text)


# The start of a colour code cut off at the end of a chunk of output.
_PARTIAL_ANSI = re.compile(r"\x1b(\[[0-9;]*)?$")


class ColorStripper:
    """Strips colour codes from a stream that arrives in chunks: a code cut in two by a
    chunk boundary is held back until its end arrives."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        partial = _PARTIAL_ANSI.search(text)
        self._held = partial.group(0) if partial else ""
        return strip_color(text[: partial.start()] if partial else text)


def status_mark(status: str) -> str:
    word, color = _MARKS.get(status, (status, ""))
    return paint(f"{word:<4}", "bright", *([color] if color else []))


def header(text: str) -> None:
    print(paint(f"==> {text}", "bright", "blue"), flush=True)


def ok(text: str) -> None:
    print(paint("ok", "green") + f"   {text}", flush=True)


def fail(text: str) -> None:
    print(paint("FAIL", "red") + f" {text}", flush=True)


def warn(text: str) -> None:
    print(paint("warn", "yellow") + f" {text}", file=sys.stderr, flush=True)


def info(text: str) -> None:
    print(text, flush=True)


def safe_write(stream: TextIO, text: str) -> None:
    """Write, unless the reader has gone (`inv ci | head`): the run must still finish and
    clean up, so a closed pipe only silences the rest."""
    try:
        stream.write(text)
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass
