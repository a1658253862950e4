"""The threads a run's tasks run on, kept between tasks."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Workers(Generic[Item]):
    """Threads that run tasks, kept between tasks: a thread per task would cost its start
    (a GIL hand-over each) thousands of times. A new one starts only when none is idle, so
    there are as many as tasks ever ran at once."""

    def __init__(self, work: Callable[[Item], None]) -> None:
        self.work = work
        self.queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.idle = 0
        self.threads = 0

    def submit(self, item: Item) -> None:
        with self.lock:
            spawn = self.idle == 0
            if spawn:
                self.threads += 1
            else:
                self.idle -= 1
        self.queue.put(item)
        if spawn:
            name = f"gotasks-worker-{self.threads}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while (item := self.queue.get()) is not None:
            self.work(item)
            with self.lock:
                self.idle += 1

    def close(self) -> None:
        """Idle workers end (one still busy, a Python task past Ctrl-C, ends with inv)."""
        for _ in range(self.threads):
            self.queue.put(None)
