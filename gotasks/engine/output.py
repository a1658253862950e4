"""Where a task's output goes while tasks run side by side: a block per task, or prefixed lines."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from gotasks.core import console
from gotasks.core.console import safe_write

Sink = Callable[[str], None]
# What a long task is at: text, or a function the status line asks each time it is drawn.
Progress = str | Callable[[], str]
CLEAR_LINE = "\r\x1b[K"


class ThreadRouter(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr during a run: what a worker thread writes (its
    prints and invoke's copy of its commands' output) goes to that thread's task."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self._local = threading.local()

    def route(self, sink: Sink | None) -> None:
        self._local.sink = sink

    def current(self) -> Sink | None:
        sink: Sink | None = getattr(self._local, "sink", None)
        return sink

    def _passes_through(self) -> bool:
        """Nothing to capture: no task on this thread, or a run of one task, which streams
        untouched (stdout to stdout, stderr to stderr)."""
        sink = getattr(self._local, "sink", None)
        owner = getattr(sink, "__self__", None)
        return sink is None or (isinstance(owner, TaskOutput) and owner.mode == "direct")

    def write(self, text: str) -> int:
        if self._passes_through():
            safe_write(self.real, text)
            return len(text)
        sink: Sink = self._local.sink
        sink(text)
        return len(text)

    def flush(self) -> None:
        if self._passes_through():
            with contextlib.suppress(BrokenPipeError, ValueError):
                self.real.flush()

    def isatty(self) -> bool:
        """A captured task's output is never a terminal; what passes through may be (so a
        progress bar can show)."""
        return self._passes_through() and bool(self.real.isatty())

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


class TaskStream:
    """The file-like object invoke copies a command's output to, from reader threads of
    its own (which the thread router cannot tell apart): it goes to one task's output."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def current_output() -> TaskOutput | None:
    """The TaskOutput of the task running on this thread (None outside a gotasks run)."""
    router = sys.stdout
    sink = router.current() if isinstance(router, ThreadRouter) else None
    owner = getattr(sink, "__self__", None)
    return owner if isinstance(owner, TaskOutput) else None


def report_progress(progress: Progress | None, done: str | None = None) -> None:
    """Tell the run where this task is (see TaskOutput.step); outside a run, `done` is
    printed."""
    output = current_output()
    if output is not None:
        output.step(progress, done)
    elif done is not None:
        safe_write(sys.stdout, done + "\n")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


class TaskOutput:
    """One task's output: kept for its block (mode "group") or streamed with a prefix."""

    def __init__(
        self,
        name: str,
        mode: str,
        lock: threading.Lock,
        real: TextIO,
        live: bool = False,
        real_err: TextIO | None = None,
    ) -> None:
        self.name, self.mode, self.lock, self.real = name, mode, lock, real
        self.real_err = real_err or real
        self.live = live  # a status line is on screen: clear it before printing
        self.text: list[str] = []
        # The line being written, in pieces: joined once when its newline comes (joining on
        # every write would be quadratic in a long line).
        self._partial: list[str] = []
        self.progress: Progress | None = None
        # A tool may colour its output whatever we do (--color=always, a test's logger):
        # where gotasks paints nothing (a pipe, NO_COLOR), none of it is shown either. Made
        # at the first write: most of a monorepo's thousands of tasks print nothing.
        # (stdout's, stderr's: each stream's own, a colour code may be cut between writes)
        self._strippers: list[console.ColorStripper | None] | None = (
            None if console.use_color() else [None, None]
        )

    def _stripper(self, which: int) -> console.ColorStripper | None:
        strippers = self._strippers
        if strippers is None:
            return None
        stripper = strippers[which]
        if stripper is None:
            stripper = strippers[which] = console.ColorStripper()
        return stripper

    def status(self) -> str:
        """The task on the live status line: its name, and where it is when it says."""
        progress = self.progress
        if progress is None:
            return self.name
        try:
            text = progress() if callable(progress) else progress
        except Exception:  # a status line must never take the run down
            return self.name
        return f"{self.name}: {text}" if text else self.name

    def step(self, progress: Progress | None, done: str | None = None) -> None:
        """A long task's progress: `progress` shows on the live status line; `done` (a step
        finished) is a line of its own at once when nothing is live (a pipe, a CI log), so a
        long build does not sit silent until its block prints."""
        self.progress = progress
        if done is None or self.live:
            return
        if self.mode in ("direct", "prefixed"):
            self.write(done + "\n")
            return
        with self.lock:
            safe_write(self.real, f"{console.paint(f'[{self.name}]', 'dim')} {done}\n")

    def write(self, text: str) -> None:
        stripper = self._stripper(0)
        if stripper is not None:
            text = stripper.feed(text)
        self._write(text)

    def _write(self, text: str) -> None:
        if self.mode == "direct":
            safe_write(self.real, text)
            return
        if self.mode != "prefixed":
            self.text.append(text)
            return
        if "\n" not in text:
            self._partial.append(text)
            return
        lines = ("".join(self._partial) + text).split("\n")
        last = lines.pop()
        self._partial = [last] if last else []
        if lines:
            with self.lock:
                if self.live:
                    safe_write(self.real, CLEAR_LINE)
                for line in lines:
                    safe_write(self.real, f"{console.paint(f'[{self.name}]', 'dim')} {line}\n")

    def write_err(self, text: str) -> None:
        """A command's stderr: the real stderr in a run of one task, else the task's block."""
        stripper = self._stripper(1)
        if stripper is not None:
            text = stripper.feed(text)
        if self.mode == "direct":
            safe_write(self.real_err, text)
        else:
            self._write(text)

    def finish(self, status: str, duration: str, message: str | None) -> None:
        """Print the block (group mode) or the last partial line, then the one-line result.

        A run of one task ("direct") streams as it goes and adds nothing: `inv env`'s output
        must stay exactly what `eval` reads.
        """
        if self.mode == "direct":
            return
        with self.lock:
            if self.live:
                safe_write(self.real, CLEAR_LINE)
            mark = console.status_mark(status)
            line = f"{mark} {self.name} ({duration})"
            if message:
                line += f": {message}"
            if self.mode == "prefixed":
                if self._partial:
                    safe_write(self.real, f"[{self.name}] {''.join(self._partial)}\n")
                safe_write(self.real, line + "\n")
            else:
                # The result line heads the block; under GitHub Actions it is the group's
                # title, so a folded log still shows what passed and what failed.
                body = "".join(self.text)
                if in_github_actions():
                    safe_write(self.real, f"::group::{console.strip_color(line)}\n")
                else:
                    safe_write(self.real, line + "\n")
                if body:
                    safe_write(self.real, body if body.endswith("\n") else body + "\n")
                if in_github_actions():
                    safe_write(self.real, "::endgroup::\n")


class Routing:
    """Installs the routers on sys.stdout and sys.stderr for the length of a run."""

    def __enter__(self) -> Routing:
        self.stdout, self.stderr = sys.stdout, sys.stderr
        self.out = ThreadRouter(self.stdout)
        self.err = ThreadRouter(self.stderr)
        sys.stdout, sys.stderr = self.out, self.err
        return self

    def route(self, sink: Sink | None) -> None:
        self.out.route(sink)
        self.err.route(sink)

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.stdout, self.stderr
