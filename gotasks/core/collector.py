"""The cycle collector held off while a large, long-lived object graph is built."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_frozen = False  # freeze() called, and no unfreeze() since


def freeze() -> None:
    """What lives until now stays out of the collector's passes (gc.freeze), and paused()
    knows it without gc.get_freeze_count, which walks every frozen object: ~2.5 ms a call
    at 300,000 objects, more in a process forked from another (a cluster worker's task)."""
    global _frozen
    gc.freeze()
    _frozen = True


def unfreeze() -> None:
    global _frozen
    gc.unfreeze()
    _frozen = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collection while the body runs. Building a monorepo's plan (a parsed history of
    100,000 numbers, an object or three per task) sets off collections that each walk every
    container made so far: a third of planning's CPU, to find no garbage, since all of it
    lives as long as the run. Objects freed by their counts are freed as ever."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _frozen:
            # The process keeps what it loaded out of the collector (`inv`: engine/cli.py,
            # the executor): what was built here lives as long, and joins it. Else the
            # first collection after this walks every object built here, to free none.
            gc.freeze()
        if was_enabled:
            gc.enable()
