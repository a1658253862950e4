"""A download's progress on a terminal: bytes, rate, ETA."""

from __future__ import annotations

import time
from typing import TextIO

from gotasks.core.console import safe_write
from gotasks.core.units import format_size

_WIDTH = 24


class ProgressBar:
    """Redrawn in place at most ten times a second; only when `stream` is a terminal."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.enabled = stream.isatty()
        self.t0 = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done != total:
            return
        self.last = now
        elapsed = max(now - self.t0, 1e-6)
        rate = done / elapsed
        if total:
            filled = min(_WIDTH, int(_WIDTH * done / total))
            eta = (total - done) / rate if rate > 0 else 0.0
            text = (
                f"  {self.label}  {done / 1e6:.1f}/{format_size(total)}  {format_size(rate)}/s"
                f"  ETA {eta:.0f}s  [{'#' * filled}{'.' * (_WIDTH - filled)}]"
            )
        else:
            text = f"  {self.label}  {format_size(done)}  {format_size(rate)}/s"
        safe_write(self.stream, "\r\x1b[2K" + text)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            safe_write(self.stream, "\r\x1b[2K")
