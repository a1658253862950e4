"""What runs inside a Dask worker: its description for the version check, and one task of
the client's graph, run as `inv` runs it locally (in the client's tree, its commands in
their own process group, memory sampled and enforced), its output sent back as it comes
and its outputs packed for the client.

Functions here are pickled by reference: the worker imports this module (the same
gotasks, which the version check makes sure of)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gotasks
from gotasks.engine.placement import NODE_OUTPUTS_VARIABLE, NODE_VARIABLE
from gotasks.remote.goenv import GoSettings, effective, worker_environ
from gotasks.remote.launch import launch
from gotasks.remote.tree import TreeState, fetch_commit
from gotasks.remote.workfolder import checkout_for

# The client's declared outputs, as paths under the project root: build binaries (dist/,
# whose SHA256SUMS the client writes again over everything it holds) and the test reports.
OUTPUT_ROOTS = ("dist", ".gotasks/cover")
EVENT_RESULT_BYTES = 64 * 1024  # a result whose outputs are at most this big comes by event
FLUSH_SECONDS = 0.1  # output is sent in batches at most this old
WATCH_SECONDS = 0.2
# Variables that name this machine's own things, never taken from the client.
_NOT_FORWARDED = ("GOTASKS_CLUSTER", "GOTASKS_ROOT", "GOTASKS_LEASE_DIR", "GOTASKS_WORKER_DIR")


@dataclass(frozen=True)
class NodeSpec:
    name: str  # the graph node, e.g. test[hello]
    argv: tuple[str, ...]  # the client's `inv` arguments, less --cluster and its reports
    subdir: str  # the project root inside the repository
    environ: dict[str, str]  # the client's GOTASKS_* run settings
    topic: str  # where output events go
    mem_limit: int
    timeout: float | None
    outputs: tuple[str, ...]  # paths (relative) the task may write besides OUTPUT_ROOTS
    go: GoSettings  # the client's Go settings that decide what a build makes


def _worker() -> Any:
    from distributed import get_worker

    return get_worker()


def base_folder(worker: Any) -> Path:
    """Where this worker keeps its cache clones: $GOTASKS_WORKER_DIR, else its own working
    folder (dask worker --local-directory)."""
    chosen = os.environ.get("GOTASKS_WORKER_DIR")
    return Path(chosen or worker.local_directory) / "gotasks-trees"


def describe(go: GoSettings | None = None, dask_worker: Any = None) -> dict[str, Any]:
    """The gotasks and Go a task would run with here (client.run at connect, on every
    worker at once: Dask passes the worker as `dask_worker`), and what `go env` says of the
    settings that decide what a build makes: under the client's settings `go` on a worker,
    as its tasks get them; under this process's own environment on the client."""
    try:
        answer = subprocess.run(
            ["go", "env", "GOVERSION"], capture_output=True, text=True, check=False, timeout=60
        )
        version = answer.stdout.strip() or "none"
    except (OSError, subprocess.TimeoutExpired):
        version = "none"
    environ: dict[str, str] = dict(os.environ)
    if go is not None:
        environ = worker_environ(go, environ, base_folder(dask_worker or _worker()) / "goenv")
    return {"gotasks": gotasks.__version__, "go": version, "go_env": effective(environ)}


async def obtain(repository: str, commit: str, url: str | None, dask_worker: Any = None) -> bool:
    """Whether this worker's cache clone has the commit, fetched from the repository's
    remote if it lacked it (client.run at connect, on every worker at once: Dask passes the
    worker as `dask_worker`). A coroutine, so Dask awaits it on the worker's event loop,
    and the fetch itself runs on a thread: a long fetch must not stall the worker's
    heartbeats."""
    base = base_folder(dask_worker or _worker())
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, fetch_commit, base, repository, commit, url)


# The Dask keys of the tasks run_node is running in this worker now: what the client's
# probe (probe.worker_view) looks at when Dask says one executes.
RUNNING: set[str] = set()


def run_node(tree: TreeState, spec: NodeSpec) -> dict[str, Any]:
    worker = _worker()
    key = worker.get_current_task()
    RUNNING.add(key)
    try:
        return _run_node(worker, key, tree, spec)
    finally:
        RUNNING.discard(key)


def _run_node(worker: Any, key: str, tree: TreeState, spec: NodeSpec) -> dict[str, Any]:
    attempt = secrets.token_hex(4)
    name = str(worker.name)
    sender = _Sender(worker, spec, attempt, name)
    sender.event("start", "")
    started = time.monotonic()
    try:
        checkout, release = checkout_for(tree, base_folder(worker), name)
    except Exception as error:
        sender.event("end", "")
        return _result(name, 2, started, None, None, f"{spec.name}: {error}", b"")
    try:
        return _run_in(checkout, worker, key, tree, spec, sender, attempt, started)
    finally:
        release()  # the work folder may go to another tree state now


def _run_in(
    checkout: Path,
    worker: Any,
    key: str,
    tree: TreeState,
    spec: NodeSpec,
    sender: _Sender,
    attempt: str,
    started: float,
) -> dict[str, Any]:
    from gotasks.engine.procs import TaskProcesses

    name = sender.name
    cwd = checkout / spec.subdir
    before = _snapshot(cwd, spec.outputs)
    env = {k: v for k, v in os.environ.items() if k not in _NOT_FORWARDED}
    env.update({k: v for k, v in spec.environ.items() if k not in _NOT_FORWARDED})
    env = worker_environ(spec.go, env, base_folder(worker) / "goenv")
    env[NODE_VARIABLE] = spec.name
    listing = base_folder(worker) / "outputs" / attempt
    listing.parent.mkdir(parents=True, exist_ok=True)
    env[NODE_OUTPUTS_VARIABLE] = str(listing)
    # The client admitted this task against the worker's share: its run must not queue
    # again behind the leases of the client or of the worker's other tasks (whose own
    # plans know nothing of the client's learned claims). A run of one node takes no lease
    # (engine/plan.py); a lease folder of its own all the same, for an `inv` it starts.
    leases = base_folder(worker) / "leases" / attempt
    env["GOTASKS_LEASE_DIR"] = str(leases)
    # The gotasks this worker imported is the one the version check saw: its inv too.
    source = str(Path(gotasks.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    # The run stops itself when this worker dies (stops.stop_with_parent): it is in a session
    # of its own, and no signal would reach it then.
    alive_read, alive_write = os.pipe()
    output_read, output_write = os.pipe()
    try:
        launched = launch(
            spec.argv,
            cwd,
            env,
            tree.digest,
            (output_write, alive_read),
            lambda text: sender.event("output", text),
        )
    except BaseException:
        for fd in (alive_write, output_read):
            os.close(fd)
        raise
    finally:
        os.close(alive_read)
        os.close(output_write)
    processes = TaskProcesses(spec.name)
    processes.add_group(launched.pid)
    stream = os.fdopen(output_read, "rb")
    reader = threading.Thread(target=sender.pump, args=(stream,), daemon=True)
    reader.start()
    code, cpu_seconds = None, 0.0
    stopping = False
    while code is None:
        ended = launched.wait(WATCH_SECONDS)
        if ended is not None:
            code, cpu_seconds = ended
            break
        rss = processes.sample()
        if stopping:
            continue
        elapsed = time.monotonic() - started
        reason = None
        if not _still_wanted(worker, key):
            reason = "interrupted"  # cancelled, or the client is gone
            state = worker.state.tasks.get(key)
            sender.event(
                "output", f"stopped on {name}: Dask has the task {state and state.state}\n"
            )
        elif rss > spec.mem_limit:
            reason = f"{spec.name}: killed: memory {rss} bytes is over its limit on {name}"
        elif spec.timeout is not None and elapsed > spec.timeout:
            reason = f"{spec.name}: killed: timeout, still running after {spec.timeout:.0f}s"
        if reason is not None:
            stopping = True
            threading.Thread(target=processes.stop, args=(reason,), daemon=True).start()
    os.close(alive_write)
    processes.end(grace=0.5)  # nothing the task started outlives it
    shutil.rmtree(leases, ignore_errors=True)
    # What it wrote, and what it found up to date here (made by an earlier run of this tree
    # on this worker: the client has not got them).
    returned = set(_changed(cwd, spec.outputs, before))
    with contextlib.suppress(FileNotFoundError):
        returned.update(n for n in listing.read_text().splitlines() if (cwd / n).is_file())
        listing.unlink()
    processes.cpu_seconds = max(processes.cpu_seconds, cpu_seconds)
    reader.join(timeout=5)
    stream.close()
    sender.flush()
    archive = _pack(cwd, sorted(returned))
    result = _result(
        name, code, started, processes, processes.stop_reason, sender.last_line, archive
    )
    # A small result goes with the end event too: the client has it ~0.1 s sooner than by
    # Dask's own way (the scheduler, then a fetch from here). A big one (binaries) would
    # stay in the scheduler's event log: that one only by Dask's way.
    sender.event("end", "", result if len(archive) <= EVENT_RESULT_BYTES else None)
    return result


def _result(
    worker: str,
    code: int,
    started: float,
    processes: Any,
    stop_reason: str | None,
    last_line: str,
    archive: bytes,
) -> dict[str, Any]:
    return {
        "worker": worker,
        "exit": code,
        "duration": time.monotonic() - started,
        "peak_rss": processes.peak_rss if processes else 0,
        "cpu_seconds": processes.cpu_seconds if processes else 0.0,
        "stop_reason": stop_reason,
        "last_line": last_line,
        "outputs": archive,
    }


def _still_wanted(worker: Any, key: Any) -> bool:
    """False once Dask cancelled the task: a client's cancel, or the client gone (its
    futures are released). Dask itself cannot stop a running function."""
    state = worker.state.tasks.get(key)
    return state is not None and state.state not in ("cancelled", "forgotten")


class _Sender:
    """Output to the client in batches, each tagged with the task and this attempt."""

    def __init__(self, worker: Any, spec: NodeSpec, attempt: str, name: str) -> None:
        self.worker, self.spec, self.attempt, self.name = worker, spec, attempt, name
        self.pending: list[bytes] = []
        self.lock = threading.Lock()
        self.last_line = ""

    def event(self, kind: str, text: str, result: dict[str, Any] | None = None) -> None:
        message = {
            "task": self.spec.name,
            "attempt": self.attempt,
            "worker": self.name,
            "kind": kind,
            "text": text,
            "result": result,
        }
        self.worker.log_event(self.spec.topic, message)

    def pump(self, stream: Any) -> None:
        last = time.monotonic()
        fd = stream.fileno()
        while chunk := os.read(fd, 65536):
            with self.lock:
                self.pending.append(chunk)
            if time.monotonic() - last >= FLUSH_SECONDS:
                self.flush()
                last = time.monotonic()
        self.flush()

    def flush(self) -> None:
        with self.lock:
            data, self.pending = b"".join(self.pending), []
        if data:
            text = data.decode("utf-8", "replace")
            lines = [line for line in text.splitlines() if line.strip()]
            if lines:
                self.last_line = lines[-1]
            self.event("output", text)


def _snapshot(root: Path, extra: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for rel in (*OUTPUT_ROOTS, *extra):
        top = root / rel
        paths = [top] if top.is_file() else (p for p in top.rglob("*") if p.is_file())
        for path in paths:
            relative = path.relative_to(root)
            if rel == "dist" and (relative.parts[1].startswith(".") or len(relative.parts) < 3):
                continue  # scratch folders, journals, SHA256SUMS: dist/'s own bookkeeping
            info = path.stat()
            found[relative.as_posix()] = (info.st_mtime_ns, info.st_size)
    return found


def _changed(root: Path, extra: tuple[str, ...], before: dict[str, tuple[int, int]]) -> list[str]:
    after = _snapshot(root, extra)
    return sorted(name for name, seen in after.items() if before.get(name) != seen)


def _pack(root: Path, names: list[str]) -> bytes:
    if not names:
        return b""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in names:
            tar.add(root / name, arcname=name, recursive=False)
    return buffer.getvalue()
