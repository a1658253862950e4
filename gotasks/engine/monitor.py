"""Watching a run's process trees while it runs: each task's memory and time limits
enforced, the run's CPU and memory sampled (the trace's counters), the live status line."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

from gotasks.core.console import safe_write
from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.output import CLEAR_LINE
from gotasks.engine.plan import Plan, Task
from gotasks.engine.procs import process_table

SAMPLE_SECONDS = 0.2
STATUS_NAMES = 6  # running tasks named on the live status line; the rest are counted


class Monitor:
    """A thread that samples the running tasks every SAMPLE_SECONDS until `stop`.

    `running` gives the tasks running now (in start order), `finished` how many ended;
    `status_to` is where the live status line goes (None: no status line)."""

    def __init__(
        self,
        plan: Plan,
        t0: float,
        running: Callable[[], list[Task]],
        finished: Callable[[], int],
        status_to: tuple[TextIO, threading.Lock] | None,
    ) -> None:
        self.plan, self.t0 = plan, t0
        self.running, self.finished = running, finished
        self.status_to = status_to
        self.counters: list[tuple[float, float, int]] = []  # (seconds, CPU %, RSS bytes)
        self.stopped = False
        self.thread = threading.Thread(target=self._watch, name="gotasks-monitor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """No sample, no kill and no status line from here on."""
        self.stopped = True

    def _watch(self) -> None:
        last_cpu, last_t = 0.0, time.monotonic()
        while not self.stopped:
            time.sleep(SAMPLE_SECONDS)
            running = self.running()
            total_rss, total_cpu = 0, 0.0
            now = time.monotonic()
            # One read of the process table for every running task's trees.
            # (None for a cluster's tasks only: those are measured on their workers.)
            local = any(task.processes and task.where is None for task in running)
            table = process_table() if local else None
            for task in running:
                processes = task.processes
                if processes is None or task.where is not None:
                    continue  # a cluster task is measured on its worker
                rss = processes.sample(table)
                total_rss += rss
                total_cpu += processes.cpu_seconds
                self._enforce(task, rss, now - self.t0 - task.start)
            dt = max(now - last_t, 1e-6)
            cpu_share = max(0.0, total_cpu - last_cpu) / dt / max(self.plan.capacity.cpus, 0.01)
            self.counters.append((now - self.t0, round(100 * cpu_share, 1), total_rss))
            last_cpu, last_t = total_cpu, now
            if self.status_to is not None and not self.stopped:
                self._status_line(running, 100 * cpu_share, total_rss)

    def _status_line(self, running: list[Task], cpu_percent: float, rss: int) -> None:
        """[3/10] running: test[a], build[b] | cpu 140% mem 1.2G, kept on one line."""
        assert self.status_to is not None
        shown = [t.output.status() if t.output else t.node.name for t in running[:STATUS_NAMES]]
        more = len(running) - len(shown)
        names = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "") or "-"
        text = (
            f"[{self.finished()}/{len(self.plan.tasks)}] running: {names}"
            f" | cpu {cpu_percent:.0f}% mem {format_bytes(rss)}"
        )
        width = shutil.get_terminal_size().columns - 1
        out, lock = self.status_to
        with lock:
            safe_write(out, CLEAR_LINE + text[:width])

    def _enforce(self, task: Task, rss: int, elapsed: float) -> None:
        processes = task.processes
        if processes is None or processes.stop_reason:
            return
        reason = None
        if rss > task.mem_limit:
            reason = (
                f"{task.node.name}: killed: memory {format_bytes(rss)} is over its limit"
                f" {format_bytes(task.mem_limit)} (estimate {format_bytes(task.job.mem)})"
            )
        elif task.timeout is not None and elapsed > task.timeout:
            # A Python-only task cannot be stopped from outside; it is failed when it ends.
            reason = (
                f"{task.node.name}: killed: timeout, still running after"
                f" {format_duration(task.timeout)}"
            )
        if reason:
            task.stopped_at = task.start + elapsed
            threading.Thread(target=processes.stop, args=(reason,), daemon=True).start()
