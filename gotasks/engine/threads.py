"""Work a task spreads over threads of its own, still measured and captured as that task."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gotasks.core.cancel import bind, bound
from gotasks.engine.output import ThreadRouter

T = TypeVar("T")
R = TypeVar("R")


def map_in_task(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """fn over items, `workers` at a time. The commands each thread starts join the calling
    task's process groups (measured, limited, stopped with it) and what they print goes to
    the calling task's output."""
    processes = bound()
    routers = [s for s in (sys.stdout, sys.stderr) if isinstance(s, ThreadRouter)]
    sinks = [router.current() for router in routers]

    def run(item: T) -> R:
        bind(processes)
        for router, sink in zip(routers, sinks, strict=True):
            router.route(sink)
        try:
            return fn(item)
        finally:
            bind(None)
            for router in routers:
                router.route(None)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(run, items))
