"""A warm `inv` on each cluster worker, and the run servers forked from it.

The warm server (`python -m gotasks.remote.warm SOCKET`, started by the worker on its first
task) has imported invoke and gotasks once; for each request it forks a child that runs
`inv` from there, so a task does not pay Python's start-up and gotasks' imports.

A child asked to serve a run (a request with "serve": SOCKET, launch.py) is a run server:
it runs the task's `inv` as far as what every task of that run shares (tasks.py loaded, the
settings, the toolchain, the modules found, the graph expanded: engine/placement.py's node
fork), and there, instead of picking a node, it listens on its own socket and forks one
child per task, which goes on from that point in the task's environment (naming its node):
the plan, the node's run, its history, its exit. A task then pays a fork and its own work.

A run server is the worker's for one tree state (by its digest) in one folder, `inv`
arguments and environment less each task's own variables (launch.py keys them so). It
leaves, once the children it forked have ended: when what it read outside the checkout
changed (the go binaries, the SDK store, the go env file: it then answers "stale" and the
worker starts another), when idle for IDLE_SECONDS, or when the worker closes its end of the
pipe it watches (the worker evicted it, or died).

Single-threaded on purpose: a fork copies only the forking thread, so a process with other
threads (a Dask worker: its event loop, its task threads) could fork while one of them holds
a lock the child then waits on for ever. A run server that finds another thread running
refuses to serve (the worker then starts that run's tasks from the warm server). A child is
what `python -m invoke ARGS` would be: a session of its own, the task's environment and
folder, its output into the pipe it was given; the Dask worker watches, samples, stops it
by its process group as before.

Protocol, one connection per task: the worker sends a length-prefixed JSON request (argv,
cwd, env) with two file descriptors (the output pipe's write end, and the read end of the
pipe that tells the task its worker died); the server answers `{"pid": N}` once forked,
then `{"exit": code, "cpu": seconds}` when the child ends (it is the child's parent: only
it can wait for it); a stale run server answers `{"stale": why}` instead and forks nothing."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("!I")
READY = "\0gotasks-run-server-ready"  # a run server's line on its output once it listens
IDLE_SECONDS = 120.0  # a run server with no task for this long leaves
PRELOAD = (
    "invoke.main",
    "gotasks.namespace",
    "gotasks.engine.executor",
    "gotasks.engine.runner",
    "gotasks.fresh",
    "gotasks.settings",
    "gotasks.remote.placement",
    # What a task's run imports as it goes (measured for lint, test, build and a bare
    # task): loaded once here, not by every forked run (without byte code on disk, as with
    # PYTHONDONTWRITEBYTECODE, each import compiles the source again).
    "gotasks.configcache",
    "gotasks.configspec",
    "gotasks.core.schema",
    "gotasks.core.owners",
    "gotasks.engine.remainder",
    "gotasks.engine.threads",
    "gotasks.go.environment",
    "gotasks.go.shellstate",
    "gotasks.go.toolchain",
    "gotasks.go.sdk.selection",
    "gotasks.go.sdk.store",
    "gotasks.go.testjson",
    "gotasks.go.testresults",
    "gotasks.go.testsummary",
    "gotasks.go.buildinfo",
    "gotasks.go.buildprogress",
    "gotasks.go.dist",
    "gotasks.go.stamps",
    "gotasks.go.gofmt",
    "gotasks.go.gotools",
    "concurrent.futures.thread",
)

Request = tuple[dict[str, Any], list[int]]  # a request and its two file descriptors


def serve(path: str) -> None:
    """Until stdin (a pipe from the Dask worker) closes: the worker is gone."""
    import importlib

    import gotasks

    entry = gotasks.namespace
    for name in PRELOAD:
        importlib.import_module(name)
    # Importing the submodule gotasks.namespace set the package's attribute of that name to
    # it: tasks.py calls gotasks.namespace(), the function.
    gotasks.namespace = entry
    listener = _listen(path)
    print("ready", flush=True)
    served = _serve(listener, 0, None, None, drain=False)
    if served is None:
        _unlisten(listener, path)
        return  # the children stop on their own: their worker's pipes closed too
    _run_inv(*served)  # in a forked child: never returns


def _listen(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    return listener


def _unlisten(listener: socket.socket, path: str) -> None:
    listener.close()
    with contextlib.suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _serve(
    listener: socket.socket,
    watched: int,
    idle: float | None,
    stale: Callable[[], str | None] | None,
    drain: bool,
) -> Request | None:
    """Fork a child per request until `watched` reads end-of-file (or `idle` seconds pass
    with no child and no request). Returns None in this process, once done (with `drain`,
    once its children ended: it answers for them); a request in each child it forks, its
    signal handlers as they were before."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    previous_wakeup = signal.set_wakeup_fd(wake_write)
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGCHLD, *stop_signals)}
    signal.signal(signal.SIGCHLD, lambda *_: None)
    for signum in stop_signals:
        signal.signal(signum, signal.SIG_IGN)  # the worker's stop, not ours: `watched` says
    children: dict[int, socket.socket] = {}
    listening = True
    while listening or (drain and children):
        waiting = [wake_read] + ([listener.fileno(), watched] if listening else [])
        timeout = idle if idle is not None and not children else None
        try:
            ready, _, _ = select.select(waiting, [], [], timeout)
        except InterruptedError:
            continue
        if listening and not ready:
            listening = False  # idle
        if listening and watched in ready and not os.read(watched, 1):
            listening = False
        if wake_read in ready:
            os.read(wake_read, 4096)
        if listening and listener.fileno() in ready:
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            why = stale() if stale is not None else None
            if why is not None:
                for fd in fds:
                    os.close(fd)
                with contextlib.suppress(OSError):
                    conn.sendall(_frame({"stale": why}))
                conn.close()
                listening = False
                continue
            pid = os.fork()
            if pid == 0:
                for other in (listener, conn, *children.values()):
                    other.close()
                for fd in (wake_read, wake_write):
                    os.close(fd)
                signal.set_wakeup_fd(previous_wakeup)
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
                return request, fds
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                conn.sendall(_frame({"pid": pid}))
            children[pid] = conn
        _reap(children)
    listener.close()
    return None


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        answer = {"exit": os.waitstatus_to_exitcode(status)}
        answer["cpu"] = usage.ru_utime + usage.ru_stime  # type: ignore[assignment]
        with contextlib.suppress(OSError):
            conn.sendall(_frame(answer))
        conn.close()


def _become(request: dict[str, Any], output: int) -> None:
    """This forked child as the task's process: a session of its own, no stdin, its output
    into `output`, the task's folder and environment."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    for fd in (null, output):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])


def _run_inv(request: dict[str, Any], fds: list[int]) -> None:
    """A child of the warm server: `inv ARGS` as `python -m invoke` would run it; asked to
    serve, a run server (serve_nodes from the node fork on)."""
    code: Any = 1
    try:
        output, alive = fds
        _become(request, output)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        path = request.get("serve")
        if path:
            from gotasks.engine.placement import register_node_fork

            register_node_fork(lambda config: serve_nodes(config, str(path), alive))
        else:
            from gotasks.engine.stops import PARENT_FD_VARIABLE

            os.environ[PARENT_FD_VARIABLE] = str(alive)
        from invoke.main import program

        # What `python -m invoke` has: gotasks checks for it (stops.loaded_by_inv).
        sys.modules["__main__"].program = program  # type: ignore[attr-defined]
        sys.argv = ["inv", *request["argv"]]
        try:
            program.run(sys.argv)
            code = 0
        except SystemExit as stop:
            code = stop.code
        atexit._run_exitfuncs()
    except BaseException as error:
        with contextlib.suppress(Exception):
            print(f"gotasks: the warm inv failed: {error!r}", file=sys.stderr)
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if code is None:
            code = 0
        elif not isinstance(code, int):
            with contextlib.suppress(Exception):
                print(code, file=sys.stderr, flush=True)
            code = 1
        os._exit(code)


def serve_nodes(config: Any, path: str, alive: int) -> None:
    """The node fork of a run server (engine/placement.py): serve until done, then exit;
    returns only in each task's child, as that task's process."""
    import threading

    from gotasks.remote.externals import changed, externals

    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        print(f"gotasks: not serving this run's tasks, threads run: {others}", flush=True)
        os._exit(3)
    seen = externals(config)
    listener = _listen(path)
    os.chdir("/")  # a server keeps no checkout busy while it waits
    print(READY, flush=True)
    served = _serve(listener, alive, IDLE_SECONDS, lambda: changed(seen), drain=True)
    if served is None:
        _unlisten(listener, path)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)
    request, (output, task_alive) = served
    os.close(alive)
    _become(request, output)
    from gotasks.core import reaper
    from gotasks.engine import stops

    os.environ[stops.PARENT_FD_VARIABLE] = str(task_alive)
    stops.stop_with_parent()
    reaper.forked()


def _frame(doc: dict[str, Any]) -> bytes:
    data = json.dumps(doc).encode()
    return _HEADER.pack(len(data)) + data


def _receive(conn: socket.socket) -> Request:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 2)
    while len(data) < _HEADER.size or len(data) < _HEADER.size + _HEADER.unpack_from(data)[0]:
        more = conn.recv(1 << 16)
        if not more:
            raise ValueError("the request ended early")
        data += more
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request comes with two file descriptors")
    (size,) = _HEADER.unpack_from(data)
    return json.loads(data[_HEADER.size : _HEADER.size + size]), list(fds)


class Answers:
    """The server's answers on one connection, in order (two can come in one read)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.data = conn, b""

    def next(self, timeout: float | None) -> dict[str, Any] | None:
        """The next answer; None when none came within `timeout`. EOFError: the server
        closed the connection without one (it died)."""
        self.conn.settimeout(timeout)
        while len(self.data) < _HEADER.size or (
            len(self.data) < _HEADER.size + _HEADER.unpack_from(self.data)[0]
        ):
            try:
                more = self.conn.recv(1 << 16)
            except TimeoutError:
                return None
            if not more:
                raise EOFError("the warm inv server is gone")
            self.data += more
        (size,) = _HEADER.unpack_from(self.data)
        answer: dict[str, Any] = json.loads(self.data[_HEADER.size : _HEADER.size + size])
        self.data = self.data[_HEADER.size + size :]
        return answer


def send_request(path: str, request: dict[str, Any], fds: list[int]) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        socket.send_fds(conn, [_frame(request)], fds)
    except BaseException:
        conn.close()
        raise
    return conn


if __name__ == "__main__":
    serve(sys.argv[1])
