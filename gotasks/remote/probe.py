"""What the scheduler and a worker know of one task: asked by the client about a task that
has not ended (remote/waiting.py), so that a lost one ends the run instead of a wait for
ever.

Sent by value (dask.py registers this module with cloudpickle): a plain `dask scheduler`
need not have gotasks installed. So nothing here imports gotasks."""

from __future__ import annotations

import sys
from typing import Any


def scheduler_view(key: str, dask_scheduler: Any = None) -> dict[str, Any] | None:
    """The task's state on the scheduler and the worker it is processing on; None: the
    scheduler does not know the key (forgotten, or the scheduler restarted)."""
    task = dask_scheduler.tasks.get(key)
    if task is None:
        return None
    worker = task.processing_on
    return {
        "state": str(task.state),
        "worker": worker.address if worker is not None else None,
        "workers": sorted(dask_scheduler.workers),
        "resources": dict(task.resource_restrictions or {}),
    }


def worker_view(key: str, dask_worker: Any = None) -> dict[str, Any]:
    """The task's state on this worker (None: unknown here), how many tasks it is
    executing now, and whether gotasks' run of it is under way here (worker.py's RUNNING;
    Dask can hold a task executing whose function no thread runs any more)."""
    task = dask_worker.state.tasks.get(key)
    executing = len(dask_worker.state.executing) + len(dask_worker.state.long_running)
    runs = getattr(sys.modules.get("gotasks.remote.worker"), "RUNNING", ())
    return {
        "state": None if task is None else str(task.state),
        "executing": executing,
        "running": key in runs,
    }
