"""Waiting for a remote task's result, never for ever: a future Dask lost or forgot, a task
on a worker that no longer runs it (or died and came back without it), or one that no
worker can take ends its task with one line saying which, instead of a run that hangs
with every worker idle.

Every CHECK_SECONDS without a result, the scheduler is asked what it knows of the task and
the worker it names what it knows (remote/probe.py). A task is fine while a worker
executes it, or while it waits behind other tasks that one executes; anything else for
PATIENCE_SECONDS in a row (a worker restarting, a rerun being placed take seconds) is a
task lost."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.remote.dask import Remote

CHECK_SECONDS = 5.0
PATIENCE_SECONDS = 60.0  # $GOTASKS_CLUSTER_PATIENCE (seconds) instead, when set
# A worker's states of a task that will run there without anything else happening first.
_ON_ITS_WAY = ("executing", "long-running", "ready", "constrained", "waiting")


class TaskLost(Exception):
    """The task will not end on its own: its message is the one line the run reports."""


def verdict(scheduler: dict[str, Any] | None, worker: dict[str, Any] | None) -> str | None:
    """Why the task looks lost (None: it is running, or waiting its turn), from the
    scheduler's view of it and the named worker's (probe.py). Pure, for the tests."""
    if scheduler is None:
        return "the scheduler no longer knows it (forgotten, or the scheduler restarted)"
    state, where = scheduler["state"], scheduler["worker"]
    if state == "no-worker":
        needs = ", ".join(f"{k}={v:g}" for k, v in sorted(scheduler["resources"].items()))
        live = len(scheduler["workers"])
        return f"no worker can take it (it needs {needs or 'a worker'}; {live} workers live)"
    if state in ("memory", "erred"):
        return f"the scheduler has it {state}, but its result never reached this run"
    if state != "processing" or where is None:
        return f"the scheduler has it {state}, on no worker"
    if worker is None:
        return f"its worker {where} does not answer"
    there = worker["state"]
    if there in ("executing", "long-running"):
        if worker.get("running", True):
            return None
        return f"its worker {where} has it {there}, but nothing of it runs there"
    if there in _ON_ITS_WAY and worker["executing"] > 0:
        return None  # behind the worker's other tasks
    if there is None:
        return f"its worker {where} does not have it (the worker restarted?)"
    return f"its worker {where} has it {there} and runs nothing"


def patience(environ: Mapping[str, str] = os.environ) -> float:
    """PATIENCE_SECONDS, or $GOTASKS_CLUSTER_PATIENCE's seconds (at least 1) when set. A
    value that is not a number of seconds is a UsageError: the run checks it as it connects,
    before any task is sent, rather than wait the default while the user thinks otherwise."""
    text = environ.get("GOTASKS_CLUSTER_PATIENCE", "").strip()
    if not text:
        return PATIENCE_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(
            f"GOTASKS_CLUSTER_PATIENCE={text!r}: not a number of seconds (how long a remote"
            f" task may look lost before its run ends it; unset: {PATIENCE_SECONDS:g})"
        )
    return max(1.0, seconds)


def wait_for_result(
    remote: Remote,
    poll: Callable[[float], Any],
    key: str,
    stopped: Callable[[], bool],
    clock: Callable[[], float],
) -> Any:
    """The task's result, from poll(timeout) (TimeoutError: none yet); TaskLost once the task
    looked lost for patience() seconds."""
    allowed = patience()
    since: float | None = None  # when it began to look lost, this time
    while True:
        try:
            return poll(min(CHECK_SECONDS, allowed))
        except TimeoutError:
            pass
        if stopped():
            continue  # Ctrl-C: the cancel makes the result raise next time round
        why = looks_lost(remote, key)
        now = clock()
        if why is None:
            since = None
            continue
        since = now if since is None else since
        if now - since >= allowed:
            raise TaskLost(f"{why}, for {now - since:.0f}s")


def looks_lost(remote: Remote, key: str) -> str | None:
    try:
        scheduler = remote.scheduler_view(key)
    except (OSError, TimeoutError) as error:
        return f"the scheduler does not answer ({error or type(error).__name__})"
    worker = None
    if scheduler is not None and scheduler["state"] == "processing" and scheduler["worker"]:
        worker = remote.worker_view(scheduler["worker"], key)
    return verdict(scheduler, worker)
