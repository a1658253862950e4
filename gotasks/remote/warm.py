"""A warm `inv` on each cluster worker: a process that has imported invoke and gotasks once,
and forks a child per task that runs `inv` from there (`python -m gotasks.remote.warm
SOCKET`, started by the worker on its first task). A remote task then does not pay Python's
start-up and gotasks' imports (most of an `inv`'s start-up) again.

Single-threaded on purpose: a fork copies only the forking thread, so a process with other
threads (a Dask worker: its event loop, its task threads) could fork while one of them holds
a lock the child then waits on for ever. The child is what `python -m invoke ARGS` would be:
a session of its own, the task's environment and folder, its output into the pipe it was
given; the Dask worker watches, samples, stops it by its process group as before.

Protocol, one connection per task: the worker sends a length-prefixed JSON request (argv,
cwd, env) with two file descriptors (the output pipe's write end, and the read end of the
pipe that tells the task its worker died); the server answers `{"pid": N}` once forked,
then `{"exit": code, "cpu": seconds}` when the child ends (it is the child's parent: only
it can wait for it)."""

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
from typing import Any

_HEADER = struct.Struct("!I")
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
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    try:
        _loop(listener)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.rmdir(os.path.dirname(path))


def _loop(listener: socket.socket) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # the worker's stop, not ours: stdin says
    children: dict[int, socket.socket] = {}
    print("ready", flush=True)
    while True:
        try:
            ready, _, _ = select.select([listener.fileno(), wake_read, 0], [], [])
        except InterruptedError:
            continue
        if 0 in ready and not os.read(0, 1):
            return  # the children stop on their own: their worker's pipes closed too
        if wake_read in ready:
            os.read(wake_read, 4096)
        if listener.fileno() in ready:
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                for other in (listener, *children.values()):
                    other.close()
                os.close(wake_read)
                os.close(wake_write)
                _child(conn, request, fds)  # never returns
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                conn.sendall(_frame({"pid": pid}))
            children[pid] = conn
        _reap(children)


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


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    code: Any = 1
    try:
        conn.close()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()
        output, alive = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        for fd in (null, output):
            os.close(fd)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
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


def _frame(doc: dict[str, Any]) -> bytes:
    data = json.dumps(doc).encode()
    return _HEADER.pack(len(data)) + data


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
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
