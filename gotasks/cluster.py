"""`inv cluster.scheduler` and `inv cluster.worker tcp://HOST:8786`: Dask's own scheduler
and worker, started the way a cluster run of gotasks needs them (gotasks/remote/)."""

from __future__ import annotations

import os
import shlex
import sys

from invoke.collection import Collection
from invoke.context import Context

from gotasks.core.errors import UsageError
from gotasks.engine import task

# A worker's tasks mostly wait on their commands: threads are cheap, and gotasks' own
# admission (CPU and MEM resources) says how many run at once.
THREADS_PER_CORE = 4


def _dask(command: str) -> list[str]:
    """`python -m distributed.cli.dask_<command>` of this Python: the Dask gotasks imports."""
    import importlib.util

    from gotasks.remote.dask import INSTALL_HINT

    if importlib.util.find_spec("distributed") is None:
        raise UsageError(f"cluster.{command}: Dask distributed is not installed: {INSTALL_HINT}")
    return [sys.executable, "-m", f"distributed.cli.dask_{command}"]


def _serve(c: Context, argv: list[str]) -> None:
    """Become the Dask service (exec, as a shell wrapper would), not a task's command: a
    worker's memory is the tasks gotasks admits there, each one sampled and enforced on its
    own, so the service must not be killed for their sum as a task's command would be; and a
    service that runs for days holds no share of this machine in the run's leases (their
    locks close with the exec). `--dry` shows the command."""
    if c.config.run.dry:
        c.run(shlex.join(argv), pty=False)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


@task(
    cpu=0.1,
    mem="64M",
    needs=(),
    dry=True,
    help={"port": "the port workers and clients connect to (default 8786)"},
)
def scheduler(c: Context, port: int = 8786) -> None:
    """Start a Dask scheduler for cluster runs (inv ci --cluster tcp://HOST:PORT)."""
    _serve(c, [*_dask("scheduler"), "--port", str(port)])


@task(
    cpu=0.1,
    mem="64M",
    needs=("settings",),
    dry=True,
    positional=["address"],
    help={
        "address": "the scheduler, e.g. tcp://HOST:8786",
        "name": "the worker's name in summaries and traces (default: Dask's)",
        "local_directory": "its working folder: cache clones of the trees it runs in",
    },
)
def worker(
    c: Context, address: str, name: str | None = None, local_directory: str | None = None
) -> None:
    """Start a Dask worker offering this machine's cores and memory (less the reserve)."""
    from gotasks.engine.capacity import detect
    from gotasks.engine.run import run_state

    sched = run_state(c.config).scheduler
    capacity = detect(sched.get("cpus"), sched.get("memory"), sched.get("reserve"))
    threads = max(2, int(capacity.cpus * THREADS_PER_CORE))
    words = [
        address,
        "--nworkers",
        "1",
        "--nthreads",
        str(threads),
        "--resources",
        f"CPU={capacity.cpus:g},MEM={capacity.memory}",
        # gotasks samples and enforces each task's memory itself; Dask's own limit would
        # pause or restart the worker under a task gotasks admitted.
        "--memory-limit",
        "0",
    ]
    if name:
        words += ["--name", name]
    if local_directory:
        words += ["--local-directory", local_directory]
    _serve(c, [*_dask("worker"), *words])


def collection() -> Collection:
    cluster = Collection("cluster")
    cluster.add_task(scheduler)
    cluster.add_task(worker)
    return cluster
