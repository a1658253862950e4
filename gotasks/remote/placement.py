"""A run's graph over a Dask cluster (engine/placement.py's Placement): gotasks admits
tasks itself, by its own critical-path order, against each worker's free share (Dask's
resource scheduling ignores what is in use and blocks behind its queue's head), and hands
Dask a task only when it fits, pinned to that worker but free to move when it dies."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import secrets
import sys
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from invoke.config import Config
from invoke.exceptions import Exit

from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.core.units import format_bytes
from gotasks.engine.admission import Job, Limits, admit
from gotasks.engine.decorator import ResourceTask
from gotasks.engine.plan import Plan, Task
from gotasks.remote.dask import Remote, WorkerInfo
from gotasks.remote.goenv import client_settings, first_difference
from gotasks.remote.tree import bundle_of, capture
from gotasks.remote.waiting import TaskLost, wait_for_result
from gotasks.remote.worker import NodeSpec, describe, obtain, run_node

CONNECT_SECONDS = 10.0
END_WAIT_SECONDS = 5.0  # for a finished task's last output batch to come in
# The client's flags that are about its own run's files, not about a task's work.
_OWN_FLAGS = ("--cluster", "--trace", "--report", "--summary")
# Tasks that stay on this machine in a cluster run: the machine they measure is this one
# (bench), or they need its engine (docker).
LOCAL_PREFIXES = ("bench", "docker")


def runs_remotely(task: Task) -> bool:
    """The module tasks (lint, test, build per module) go to the cluster; whole-run tasks
    (ci's own body, bench, docker) run here."""
    body = task.node.call.task
    return (
        isinstance(body, ResourceTask)
        and body.each is not None
        and not body.claims.exclusive
        and not task.node.name.startswith(LOCAL_PREFIXES)
    )


def worker_argv(argv: list[str]) -> tuple[str, ...]:
    """The client's `inv` arguments for a worker's run of one task: without the cluster and
    the client's own report files."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in _OWN_FLAGS:
            skip = True
            continue
        if word.startswith(tuple(f"{flag}=" for flag in _OWN_FLAGS)):
            continue
        kept.append(word)
    return tuple(kept)


# The pools of gotasks' own tasks (configspec's default scheduler.pools): they say how many
# of those share one machine's cores (one `go test` at a time: it runs packages in parallel
# itself), so each machine has its own cap. Any other pool stands for something outside
# every machine (a registry, a licence server): its cap holds for the whole run.
MACHINE_POOLS = frozenset({"lint", "test", "build", "bench"})


def place(
    local: list[Job],
    remote: list[Job],
    running: list[tuple[Job, str | None]],
    workers: list[WorkerInfo],
    limits: Limits,
) -> list[tuple[Job, str | None]]:
    """The ready jobs to start now, each with the worker it goes to (None: here): `local`
    against this machine's limits, `remote` against each worker's own cores and memory in
    turn. gotasks' own pools (MACHINE_POOLS) cap each machine; any other pool caps the whole
    run (it stands for something outside them all: a registry, a licence server), and what
    the others hold of it is not theirs to use."""
    held = Counter(job.pool for job, _ in running if job.pool)

    def share(there: list[Job]) -> dict[str, int]:
        mine = Counter(job.pool for job in there if job.pool)
        return {
            name: cap if name in MACHINE_POOLS else cap - (held[name] - mine[name])
            for name, cap in limits.pools.items()
        }

    def admitted(jobs: list[Job], there: list[Job], cap: Limits) -> list[Job]:
        picked = admit(jobs, there, cap, False)
        held.update(job.pool for job in picked if job.pool)
        return picked

    chosen: list[tuple[Job, str | None]] = []
    if local:
        here = [job for job, where in running if where is None]
        own = dataclasses.replace(limits, pools=share(here))
        chosen += [(job, None) for job in admitted(local, here, own)]
    pending = list(remote)
    for worker in workers:
        if not pending:
            break
        there = [job for job, where in running if where == worker.address]
        cap = Limits(worker.cpus, worker.memory or 1 << 62, worker.threads, share(there))
        picked = admitted(pending, there, cap)
        chosen += [(job, worker.address) for job in picked]
        taken = {id(job) for job in picked}
        pending = [job for job in pending if id(job) not in taken]
    return chosen


class ClusterPlacement:
    def __init__(
        self, remote: Remote, plan: Plan, root: Path, top: Path, environ: Mapping[str, str]
    ) -> None:
        self.remote, self.plan, self.root = remote, plan, root
        self.go = client_settings(environ)
        self.run_id = secrets.token_hex(6)
        self.topic = f"gotasks-{self.run_id}"
        # This machine's answers (git, go) while the workers give theirs.
        with ThreadPoolExecutor(2, thread_name_prefix="gotasks-connect") as pool:
            captured = pool.submit(capture, top, False)
            mine = pool.submit(describe)
            self.workers = self._check_workers(mine.result)
            self._check_claims()
            # Sent with each task, not scattered once: Dask's memory manager keeps one
            # replica of scattered data, and a worker that dies with it takes the tree of
            # every task still to run (they were cancelled 'already forgotten').
            self.tree = captured.result()
        tree = self.tree
        answers = remote.run_everywhere(obtain, tree.repository, tree.commit, tree.remote)
        if not all(answer is True for answer in answers.values()):
            self.tree = dataclasses.replace(self.tree, bundle=bundle_of(top))
        self.subdir = root.relative_to(top).as_posix() if root != top else "."
        self.argv = worker_argv(sys.argv[1:])
        self.environ = {
            k: v for k, v in environ.items() if k.startswith("GOTASKS_") or k in ("CI",)
        }
        self.lock = threading.Lock()
        self.sinks: dict[str, Task] = {}
        self.attempts: dict[str, list[tuple[str, str]]] = {}  # task -> [(attempt, worker)]
        self.ended: dict[str, threading.Event] = {}  # its last output came in
        self.done: dict[str, threading.Event] = {}  # its result came, by event or future
        self.results: dict[str, dict[str, Any]] = {}  # task -> its result, from its end event
        remote.subscribe(self.topic, self._on_event)

    # -- at connect -----------------------------------------------------------------------

    def _check_workers(self, own: Callable[[], dict[str, Any]]) -> list[WorkerInfo]:
        workers = self.remote.workers()
        if not workers:
            raise UsageError("--cluster: the scheduler has no workers")
        answers = self.remote.run_everywhere(describe, self.go)
        mine = own()
        by_address = {w.address: w for w in workers}
        for address, answer in sorted(answers.items()):
            name = by_address[address].name if address in by_address else address
            if not isinstance(answer, dict):
                raise UsageError(f"--cluster: worker {name} ({address}) did not answer: {answer}")
            for what in ("gotasks", "go"):
                if answer.get(what) != mine[what]:
                    raise UsageError(
                        f"--cluster: worker {name} ({address}) runs {what} {answer.get(what)},"
                        f" this machine {mine[what]}: every worker must run the same"
                    )
            differs = first_difference(mine["go_env"], answer.get("go_env") or {})
            if differs:
                raise UsageError(
                    f"--cluster: worker {name} ({address}) builds with {differs}:"
                    " every worker must build what this machine builds"
                )
        return workers

    def _check_claims(self) -> None:
        """Memory cannot be overcommitted: a task that fits no worker fails the run now
        (Dask would wait for such a worker forever). A CPU claim over a worker's cores runs
        alone there, as it would here."""
        biggest = max(self.workers, key=lambda w: w.memory)
        for task in self.plan.tasks:
            if runs_remotely(task) and biggest.memory and task.job.mem > biggest.memory:
                raise UsageError(
                    f"task {task.node.name} claims mem={format_bytes(task.job.mem)}, more than"
                    f" the largest worker ({biggest.name}, {biggest.address}:"
                    f" MEM={format_bytes(biggest.memory)})"
                )

    # -- admission --------------------------------------------------------------------------

    def choose(self, ready: list[Task], running: list[Task]) -> list[Task]:
        local = [t for t in ready if not runs_remotely(t)]
        remote = [t for t in ready if runs_remotely(t)]
        placed = place(
            [t.job for t in local],
            [t.job for t in remote],
            [(t.job, t.where) for t in running],
            self._live_workers() if remote else self.workers,
            self.plan.limits,
        )
        by_job = {id(t.job): t for t in ready}
        chosen = []
        for job, where in placed:
            task = by_job[id(job)]
            task.where = where
            chosen.append(task)
        return chosen

    def _live_workers(self) -> list[WorkerInfo]:
        # The scheduler's last known answer (the client keeps it up to date): a worker that
        # died is no longer offered work, one that joined is.
        with contextlib.suppress(Exception):
            self.workers = self.remote.workers() or self.workers
        return self.workers

    # -- one task ---------------------------------------------------------------------------

    def execute(self, task: Task) -> Any:
        name = task.node.name
        assert task.where is not None and task.processes is not None
        worker = next((w for w in self.workers if w.address == task.where), None)
        spec = NodeSpec(
            name=name,
            argv=self.argv,
            subdir=self.subdir,
            environ=self.environ,
            topic=self.topic,
            mem_limit=task.mem_limit,
            timeout=task.timeout,
            outputs=(),
            go=self.go,
        )
        resources = None
        if worker is not None and worker.declares:
            resources = {"CPU": min(task.job.cpu, worker.cpus), "MEM": float(task.job.mem)}
        ended, done = threading.Event(), threading.Event()
        with self.lock:
            self.sinks[name] = task
            self.ended[name], self.done[name] = ended, done
        key = f"gotasks-{self.run_id}-{name}"
        future = self.remote.submit(
            run_node, self.tree, spec, key=key, worker=task.where, resources=resources
        )
        future.add_done_callback(lambda _: done.set())

        def cancel() -> None:
            self.remote.cancel([future])

        def poll(seconds: float) -> Any:
            """The result from the task's end event (Dask's own way back is ~0.1 s slower
            a task: the scheduler, then a fetch from the worker), else the future's."""
            if not done.wait(seconds):
                raise TimeoutError
            with self.lock:
                sent = self.results.pop(name, None)
            return sent if sent is not None else self.remote.result(future, timeout=seconds)

        task.processes.watch_stop(cancel)
        processes = task.processes
        try:
            result = wait_for_result(
                self.remote, poll, key, lambda: processes.stop_reason is not None, time.monotonic
            )
        except TaskLost as lost:
            # Dask would wait for ever: let go of it, and say what was seen.
            with contextlib.suppress(Exception):
                self.remote.cancel([future])
            raise Exit(f"{name}: lost on the cluster: {lost}") from None
        except Exception as error:
            if task.processes.stop_reason:
                raise Exit("interrupted", code=130) from None
            if self.remote.is_cancelled(error):
                # Not ours (Ctrl-C sets the stop reason first): say what Dask said.
                raise Exit(f"{name}: Dask cancelled it: {error}") from None
            raise Exit(f"{name}: on the cluster: {type(error).__name__}: {error}") from None
        finally:
            task.processes.unwatch_stop(cancel)
        ended.wait(END_WAIT_SECONDS)
        task.where = str(result["worker"])
        task.processes.peak_rss = int(result["peak_rss"])
        task.processes.cpu_seconds = float(result["cpu_seconds"])
        attempts = self.attempts.get(name, [])
        if len(attempts) > 1:
            where = ", ".join(w for _, w in attempts[:-1])
            task.output.write(f"ran again on {task.where}: the earlier attempt ({where}) died\n")  # type: ignore[union-attr]
        if result["outputs"]:
            self._unpack(result["outputs"])
        if result["stop_reason"]:
            task.processes.stop_reason = str(result["stop_reason"])
        if result["exit"] != 0:
            code = 2 if result["exit"] == 2 else 1
            why = result["last_line"] or f"exit {result['exit']}"
            raise Exit(f"{name} on {task.where}: {why}", code=code)
        return None

    def _on_event(self, event: Any) -> None:
        _, message = event
        name = message.get("task")
        with self.lock:
            task = self.sinks.get(name)
            attempts = self.attempts.setdefault(name, [])
            if message["kind"] == "start":
                attempts.append((message["attempt"], message["worker"]))
            current = attempts[-1][0] if attempts else None
        if task is None or task.output is None or message["attempt"] != current:
            return  # an attempt Dask gave up on: its output is not this task's
        if message["kind"] == "start" and len(attempts) > 1:
            task.output.write(f"--- {name}: running again on {message['worker']} ---\n")
        elif message["kind"] == "output":
            task.output.write(message["text"])
        elif message["kind"] == "end":
            with self.lock:
                if message.get("result") is not None:
                    self.results[name] = message["result"]
                    self.done[name].set()
                self.ended[name].set()

    def _unpack(self, archive: bytes) -> None:
        """The task's outputs into this project, each file replaced whole; dist/SHA256SUMS
        written again over what dist/ then holds (as a local build's swap does)."""
        from gotasks.go.artifacts import write_sha256sums
        from gotasks.gobuild import dist_locked
        from gotasks.paths import dist_dir, dist_lock

        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            with dist_locked(dist_lock(self.root)):
                for member in members:
                    target = self.root / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None
                    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
                    partial.write_bytes(source.read())
                    os.chmod(partial, member.mode & 0o777)
                    os.replace(partial, target)
                if any(m.name.startswith("dist/") for m in members):
                    write_sha256sums(dist_dir(self.root))

    def close(self) -> None:
        self.remote.close()


def connect(
    address: str, plan: Plan, config: Config, environ: Mapping[str, str]
) -> ClusterPlacement:
    from gotasks.go.git import toplevel
    from gotasks.paths import project_root
    from gotasks.remote.waiting import patience

    patience(environ)  # a bad value is said now, not once a task is waited for
    root = project_root()
    top = toplevel(root)
    if top is None:
        raise UsageError(f"--cluster: {root} is not in a git work tree (workers get it by git)")
    remote = Remote(address, CONNECT_SECONDS)
    try:
        placement = ClusterPlacement(remote, plan, root, top, environ)
    except BaseException:
        remote.close()
        raise
    names = ", ".join(
        f"{w.name} (cpu {w.cpus:g}, mem {format_bytes(w.memory)})" for w in placement.workers
    )
    console.info(f"cluster {address}: {names}")
    return placement
