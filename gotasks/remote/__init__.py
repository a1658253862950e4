"""Cluster runs: the graph's module tasks on Dask workers (`inv ci --cluster ADDR`).

`connector` is all a local run imports of it; the rest, and Dask, load only when a run
names a cluster."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
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


# Flags after which `inv` only lists or explains: nothing connects.
_NO_RUN = ("--list", "-l", "--help", "-h", "--complete")


def import_ahead(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """A run that names a cluster on its command line or in $GOTASKS_CLUSTER starts
    importing Dask now, on a thread of its own, beside loading the settings, the toolchain
    and planning (~1 s of imports that the connect would otherwise wait for alone). A
    worker's run of one node never connects, nor does a listing."""
    named = environ.get("GOTASKS_CLUSTER") or any(
        word == "--cluster" or word.startswith("--cluster=") for word in argv
    )
    if not named or environ.get(NODE_VARIABLE) or any(word in _NO_RUN for word in argv):
        return
    threading.Thread(target=_import_dask, name="gotasks-import-dask", daemon=True).start()


def _import_dask() -> None:
    # Not installed, or broken: the connect imports it again and says so.
    with contextlib.suppress(Exception):
        import distributed  # noqa: F401
