"""Secrets known to the run (a proxy's password, a token), replaced by *** in everything
gotasks prints or writes: the tools' own messages too, whatever shape they put them in.

The app registers the secrets (`add`) once it knows them; the executor puts `streams()`
around the whole run, so every write to stdout and stderr passes `scrub`; the writers of
reports and logs (trace, history, JUnit, install log) call `scrub` or `scrub_json`.
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

MARK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_local = threading.local()


def add(secrets: Iterable[str]) -> None:
    """Hide these strings from now on (empty ones are ignored)."""
    global _pattern
    with _lock:
        new = {s for s in secrets if s} - _secrets
        if not new:
            return
        _secrets.update(new)
        # Longest first: a secret that contains another is hidden whole.
        ordered = sorted(_secrets, key=lambda s: (-len(s), s))
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def known() -> frozenset[str]:
    return frozenset(_secrets)


def scrub(text: str) -> str:
    pattern = _pattern
    return text if pattern is None else pattern.sub(MARK, text)


def scrub_json(value: Any) -> Any:
    """A JSON-ready value with every string in it (keys too) scrubbed: the structure stays
    valid JSON whatever a secret looks like."""
    if _pattern is None:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_json(k): scrub_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v) for v in value]
    return value


def _unfinished(text: str) -> int:
    """How many characters at the end of `text` could be the start of a secret that the
    next write completes: held back until then."""
    longest = 0
    for secret in tuple(_secrets):  # a copy: add() may run on another thread
        for size in range(min(len(secret) - 1, len(text)), longest, -1):
            if text.endswith(secret[:size]):
                longest = size
                break
    return longest


@contextmanager
def revealed() -> Iterator[None]:
    """What this thread prints inside the block is not scrubbed: `inv env --reveal`, asked
    for the credentials in so many words."""
    _local.revealing = True
    try:
        yield
    finally:
        _local.revealing = False


class ScrubbedStream(io.TextIOBase):
    """Stands in for a real stdout or stderr: text goes on scrubbed. A write that ends with
    what may be the first part of a secret keeps that part back until the next write (or
    `release`), so a secret cut across two reads of a pipe is still hidden."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self._held = ""
        self._write_lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._write_lock:
            if getattr(_local, "revealing", False):
                out, self._held = self._held + text, ""
            else:
                out = scrub(self._held + text)
                keep = _unfinished(out) if _pattern is not None else 0
                out, self._held = (out[:-keep], out[-keep:]) if keep else (out, "")
            if out:
                self.real.write(out)
        return len(text)

    def release(self) -> None:
        """Write out what was held back (at the end: no write comes to complete it)."""
        with self._write_lock:
            held, self._held = self._held, ""
        if held:
            self.real.write(held)
        self.flush()

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return bool(self.real.isatty())

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


@contextmanager
def streams() -> Iterator[None]:
    """sys.stdout and sys.stderr scrubbed for the length of the block."""
    out, err = sys.stdout, sys.stderr
    wrapped = [ScrubbedStream(out), ScrubbedStream(err)]
    sys.stdout, sys.stderr = wrapped[0], wrapped[1]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        for stream in wrapped:
            with suppress(BrokenPipeError, ValueError):  # the reader has gone (`| head`)
                stream.release()
