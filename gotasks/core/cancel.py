"""Cancellation: how long Python work (a download, an extraction) learns that its run was
stopped, without knowing who runs it.

The engine implements it: it binds each task's thread to the task's stop source (its
processes) and tells this module how to see a stop signal. Code below the engine (the Go
domain, an SDK install) only calls check_stop() between steps and wraps a blocking read
in on_stop(); outside any run both do nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from gotasks.core.errors import Stopped


class StopSource(Protocol):
    """What a thread's work is stopped by: a reason once stopped, and callbacks to run then."""

    @property
    def stop_reason(self) -> str | None: ...

    def watch_stop(self, callback: Callable[[], None]) -> bool:
        """Call `callback` when stopped; False (and not kept) if it is stopped already."""
        ...

    def unwatch_stop(self, callback: Callable[[], None]) -> None: ...


_current = threading.local()
_signalled: Callable[[], bool] = lambda: False  # noqa: E731  (replaced by the engine)


def bind(source: StopSource | None) -> None:
    """Work done from this thread from now on is stopped by `source` (None: by nothing)."""
    _current.source = source


def bound() -> StopSource | None:
    source: StopSource | None = getattr(_current, "source", None)
    return source


def watch_signals(signalled: Callable[[], bool]) -> None:
    """How to tell that the process got a stop signal (the engine owns the signals)."""
    global _signalled
    _signalled = signalled


def check_stop() -> None:
    """Raise Stopped if this thread's work was stopped (Ctrl-C, timeout): long Python work
    calls it between steps, so it ends and cleans up in time."""
    source = bound()
    if source is not None and source.stop_reason is not None:
        raise Stopped(source.stop_reason)
    if _signalled():
        # Outside any task too (an install while the run is prepared): invoke's own wait
        # for a command swallows the KeyboardInterrupt a stop signal raised.
        raise Stopped("interrupted")


@contextlib.contextmanager
def on_stop(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` (from another thread) if this thread's work is stopped inside the
    block: to unblock a read that check_stop cannot reach, by closing its socket."""
    source = bound()
    if source is None:
        yield
        return
    if not source.watch_stop(callback):
        callback()
        yield
        return
    try:
        yield
    finally:
        source.unwatch_stop(callback)
