"""Cluster runs: the graph's module tasks on Dask workers (`inv ci --cluster ADDR`).

`connector` is all a local run imports of it; the rest, and Dask, load only when a run
names a cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from invoke.config import Config

from gotasks.engine.placement import NODE_VARIABLE
from gotasks.engine.run import RunOptions, run_state

if TYPE_CHECKING:
    from gotasks.engine.placement import Placement
    from gotasks.engine.plan import Plan


def cluster_address(options: RunOptions, config: Config, environ: Mapping[str, str]) -> str | None:
    """--cluster, else $GOTASKS_CLUSTER, else scheduler.cluster; never inside a worker's run
    of one task."""
    if environ.get(NODE_VARIABLE):
        return None
    sched = run_state(config).scheduler
    return (
        options.value("cluster") or environ.get("GOTASKS_CLUSTER") or sched.get("cluster") or None
    )


def connector(
    plan: Plan, config: Config, options: RunOptions, environ: Mapping[str, str]
) -> Placement | None:
    address = cluster_address(options, config, environ)
    if address is None:
        return None
    from gotasks.remote.placement import connect

    return connect(address, plan, config, environ)
