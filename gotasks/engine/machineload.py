"""How busy the machine was while something ran: the load average before and after, and the
share of CPU time in use over the whole span, so a timing can be read against it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Load:
    before: float  # 1-minute load average
    after: float
    cpu_busy_pct: float  # every CPU's busy share over the span
    cpus: int

    def describe(self) -> str:
        return (
            f"machine load: load average {self.before:.2f} before, {self.after:.2f} after"
            f" ({self.cpus} CPUs); CPU {self.cpu_busy_pct:.0f}% busy during the run"
        )


class LoadWatch:
    """Started before the work, read after it."""

    def __init__(self) -> None:
        self.before = os.getloadavg()[0]
        self.times = psutil.cpu_times()

    def stop(self) -> Load:
        now = psutil.cpu_times()
        # The busy share from the two snapshots of cumulative CPU times (cpu_percent's own
        # counter is shared by every caller in the process).
        busy = _busy(now) - _busy(self.times)
        total = _total(now) - _total(self.times)
        share = 100 * busy / total if total > 0 else 0.0
        return Load(self.before, os.getloadavg()[0], share, psutil.cpu_count() or 1)


def _total(times: tuple[float, ...]) -> float:
    # Linux counts guest time inside user time already (as psutil.cpu_percent does).
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def _busy(times: tuple[float, ...]) -> float:
    return _total(times) - getattr(times, "idle", 0.0) - getattr(times, "iowait", 0.0)
