"""A remote task's wait ends: what the scheduler and the worker say of a task that has not
ended, read as running, waiting its turn or lost (gotasks/remote/waiting.py). The cluster
itself is in tests/test_cluster.py (a task no worker can take any more ends its run)."""

from __future__ import annotations

from typing import Any

import pytest

from gotasks.core.errors import UsageError
from gotasks.remote.waiting import PATIENCE_SECONDS, patience, verdict

W1 = "tcp://127.0.0.1:1"


def _scheduler(state: str, worker: str | None = W1) -> dict[str, Any]:
    return {"state": state, "worker": worker, "workers": [W1], "resources": {"CPU": 1.0}}


def test_a_task_a_worker_runs_or_will_run_next_is_not_lost() -> None:
    assert (
        verdict(_scheduler("processing"), {"state": "executing", "executing": 1, "running": True})
        is None
    )
    assert verdict(_scheduler("processing"), {"state": "long-running", "executing": 0}) is None
    # Behind the worker's other tasks.
    assert verdict(_scheduler("processing"), {"state": "constrained", "executing": 2}) is None


def test_a_task_nothing_will_run_says_why() -> None:
    assert "no longer knows it" in str(verdict(None, None))
    assert (
        verdict(_scheduler("no-worker", None), None)
        == "no worker can take it (it needs CPU=1; 1 workers live)"
    )
    lost = verdict(_scheduler("processing"), {"state": None, "executing": 0})
    assert lost == f"its worker {W1} does not have it (the worker restarted?)"
    # Held back on a worker that runs nothing: its resources leaked, it would wait for ever.
    idle = verdict(_scheduler("processing"), {"state": "constrained", "executing": 0})
    assert idle == f"its worker {W1} has it constrained and runs nothing"
    assert "does not answer" in str(verdict(_scheduler("processing"), None))
    # Dask says it executes there, but gotasks' run of it is not under way.
    stale = verdict(
        _scheduler("processing"), {"state": "executing", "executing": 1, "running": False}
    )
    assert stale == f"its worker {W1} has it executing, but nothing of it runs there"
    assert "never reached this run" in str(verdict(_scheduler("memory", None), None))
    assert "on no worker" in str(verdict(_scheduler("queued", None), None))


def test_patience_is_the_variables_seconds_or_the_default() -> None:
    assert patience({}) == PATIENCE_SECONDS
    assert patience({"GOTASKS_CLUSTER_PATIENCE": " "}) == PATIENCE_SECONDS
    assert patience({"GOTASKS_CLUSTER_PATIENCE": "5"}) == 5.0
    assert patience({"GOTASKS_CLUSTER_PATIENCE": "0.2"}) == 1.0  # at least a second


@pytest.mark.parametrize("bad", ["soon", "5s", "-3", "0", "nan", "inf"])
def test_a_patience_that_is_not_seconds_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError) as raised:
        patience({"GOTASKS_CLUSTER_PATIENCE": bad})
    assert str(raised.value).startswith(f"GOTASKS_CLUSTER_PATIENCE={bad!r}: not a number")
    assert raised.value.exit_code == 2
