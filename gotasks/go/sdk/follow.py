"""A file read by one thread while another writes it: an SDK archive unpacked as it
downloads, so that the download, its SHA-256 and the extraction share one pass instead of
three (`curl`, then `sha256sum`, then `tar xzf`).

The writer says how far the file is written (`wrote`), then `finish` or `fail`; the reader
reads the file from its own descriptor, waiting for bytes not yet written. What the reader
unpacks is only ever a temporary folder, put in place once the whole download matched its
SHA-256 (install.py).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path


class Following(io.RawIOBase):
    """`path` as it is written. The writer's side: `wrote`, `finish`, `fail` (raises what
    the reader failed with, so that a download stops as soon as its archive is refused);
    the reader's: `readinto`, which raises the writer's failure, `stop()`'s reason or
    check_stop's."""

    def __init__(self, path: Path, check_stop: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.path = path
        self.check_stop = check_stop
        self._cond = threading.Condition()
        self._fd: int | None = None  # opened by the writer's side: the file exists then
        self._pos = 0
        self._written = 0
        self._done = False
        self._error: BaseException | None = None  # the writer's
        self.reader_error: BaseException | None = None

    # -- the writer's side ------------------------------------------------------------

    def wrote(self, total: int) -> None:
        """`total` bytes of the file are written (and readable through the file)."""
        if self.reader_error is not None:
            raise self.reader_error
        with self._cond:
            self._open()
            self._written = total
            self._cond.notify_all()

    def finish(self) -> None:
        """The file is whole (opened here, before the writer may rename it)."""
        with self._cond:
            self._open()
            self._written = os.fstat(self._fd).st_size if self._fd is not None else 0
            self._done = True
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        """The reader stops with `error` at its next read."""
        with self._cond:
            self._error = error
            self._cond.notify_all()

    @property
    def abandoned(self) -> BaseException | None:
        """What the writer failed with (the reader is to stop)."""
        return self._error

    def _open(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    # -- the reader's side ------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with self._cond:
            while (
                self._error is None
                and not self.closed
                and self._pos >= self._written
                and not self._done
            ):
                self._cond.wait(0.1)
                if self.check_stop is not None:
                    self.check_stop()
            if self._error is not None:
                raise self._error
            if self.closed:
                raise ValueError("read of a closed file")
            if self._pos >= self._written or self._fd is None:
                return 0  # done, all read
            fd, want = self._fd, min(len(buffer), self._written - self._pos)
        data = os.pread(fd, want, self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        """No more reads: a reader waiting for bytes gets an error (its descriptor is let go
        by `release`, once no thread reads it)."""
        with self._cond:
            super().close()
            self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
