"""What one `inv setup` did: each stage's time and note, and what came from the network (or
the bundle) against what was reused from caches.

The stages run in threads of one process with configs cloned per task, so what they
measure meets here, in one ledger per run: `start` (called by setup.go, the first stage)
replaces it, `current` is the run's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gotasks.core.units import format_duration

if TYPE_CHECKING:
    from gotasks.go.bundleunpack import Unpacked
    from gotasks.go.toolchain import Toolchain


@dataclass
class Ledger:
    """What this run's stages did: their times and what came from where."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    t0: float = field(default_factory=time.monotonic)
    stages: list[tuple[str, float, str]] = field(default_factory=list)
    fetched: dict[str, int] = field(default_factory=dict)  # file -> bytes, this run
    reused: dict[str, int] = field(default_factory=dict)
    source: str = "network"  # where fetched files came from: "network" or "bundle"
    worked: bool = False  # any stage did something (else the doctor pass is skipped)
    toolchain: Toolchain | None = None
    selected: bool = False  # the project chose the go (GOTOOLCHAIN=local then)
    bundle: Unpacked | None = None
    modcache: Path | None = None

    def stage(self, name: str, seconds: float, note: str, worked: bool) -> None:
        with self.lock:
            self.stages.append((name, seconds, note))
            self.worked = self.worked or worked

    def count(self, fetched: dict[str, int], reused: dict[str, int]) -> None:
        with self.lock:
            self.fetched.update(fetched)
            self.reused.update({k: v for k, v in reused.items() if k not in self.fetched})


_ledger = Ledger()


def start() -> Ledger:
    """A new ledger for a new run (the first stage calls it)."""
    global _ledger
    _ledger = Ledger()
    return _ledger


def current() -> Ledger:
    return _ledger


def say(name: str, seconds: float, note: str) -> None:
    print(f"  {name:<14} {format_duration(seconds):>7}  {note}", flush=True)


@contextmanager
def timed(name: str) -> Iterator[list[Any]]:
    """Times a stage; the body puts (note, worked) in the list it gets."""
    t0 = time.monotonic()
    result: list[Any] = []
    yield result
    note, worked = result[0] if result else ("done", True)
    seconds = time.monotonic() - t0
    _ledger.stage(name, seconds, note, worked)
    say(name, seconds, note)
