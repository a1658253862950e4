"""How a cluster worker starts a task's `inv` (worker.py): forked by the run server of the
task's run when there is one (warm.py: the run's tree, settings, toolchain and graph already
loaded), else by the worker's warm server, else started afresh.

The worker keeps its run servers here, one per key (run_key: the tree state's digest, its
folder, the `inv` arguments, and the environment less each task's own variables), at most
MAX_RUN_SERVERS, the least recently used let go first. One that cannot load the run (a bad
config: its own `inv` says so again, from the warm server) is not asked again for that key;
one that is gone or stale (warm.py) is replaced on the next task."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gotasks.core.reaper import TOKEN_VARIABLE
from gotasks.engine.placement import NODE_OUTPUTS_VARIABLE, NODE_VARIABLE
from gotasks.engine.stops import PARENT_FD_VARIABLE
from gotasks.remote.warm import READY, Answers, send_request

WARM_START_SECONDS = 30.0  # for the warm server to fork a task's inv
READY_SECONDS = 300.0  # for a run server to load its run (an SDK install may be part of it)
MAX_RUN_SERVERS = 4
MAX_REFUSED = 256  # keys remembered as not loadable by a run server
# Each task's own: not part of what its run server loaded (nothing before the node fork
# reads them; the task's fork gets them). The client's run token names its own run: each
# task's run takes a token of its own (reaper.forked).
TASK_VARIABLES = (
    NODE_VARIABLE,
    NODE_OUTPUTS_VARIABLE,
    "GOTASKS_LEASE_DIR",
    PARENT_FD_VARIABLE,
    TOKEN_VARIABLE,
)


class Launched:
    """A task's `inv`: forked by a server of this worker, or started here."""

    def __init__(self, pid: int, answers: Answers | None) -> None:
        self.pid, self.answers = pid, answers

    def wait(self, seconds: float) -> tuple[int, float] | None:
        """(exit code, CPU seconds of the whole tree it waited for: the samples miss
        short-lived compilers) once it ended, else None after `seconds`."""
        if self.answers is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
            time.sleep(seconds)
            return None
        try:
            answer = self.answers.next(seconds)
        except (EOFError, OSError):
            return 1, 0.0  # the server died, and its child with it (a session kill)
        if answer is None:
            return None
        self.answers.conn.close()
        return int(answer["exit"]), float(answer["cpu"])


def run_key(argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], tree: str) -> str:
    """What a run server loaded its run from: the same for every task of one run in one
    folder, different when the tree state (its digest, `tree`), the folder, the arguments
    or the environment is."""
    shared = sorted((k, v) for k, v in env.items() if k not in TASK_VARIABLES)
    text = json.dumps([tree, str(cwd), list(argv), shared])
    return hashlib.sha256(text.encode()).hexdigest()


def launch(
    argv: tuple[str, ...],
    cwd: Path,
    env: dict[str, str],
    tree: str,
    fds: tuple[int, int],
    said: Callable[[str], None],
) -> Launched:
    """The task's `inv` for the tree state whose digest is `tree`; fds: its output's write
    end, and the read end of the pipe that tells it the worker died; `said`: what its run
    server printed while loading, if this task started it (the settings' warnings)."""
    output, alive = fds
    warm = _warm_server(env)
    if warm is not None:
        request: dict[str, Any] = {"argv": list(argv), "cwd": str(cwd), "env": env}
        key = run_key(argv, cwd, env, tree)
        for _ in range(2):  # a server gone or stale: another one, once
            server = _run_server(warm, key, request, said)
            if server is None:
                break
            launched = _ask(server.path, request, [output, alive])
            if launched is not None:
                server.used = time.monotonic()
                return launched
            _RUN_SERVERS.retire(key, server)
        launched = _ask(warm, request, [output, alive])
        if launched is not None:
            return launched
    env = {**env, PARENT_FD_VARIABLE: str(alive)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        start_new_session=True,
        pass_fds=(alive,),
    )
    return Launched(proc.pid, None)


def _ask(server: str, request: dict[str, Any], fds: list[int]) -> Launched | None:
    """A fork of `server` for the request; None if it did not fork one (gone, stale)."""
    try:
        conn = send_request(server, request, fds)
    except OSError:
        return None
    answers = Answers(conn)
    try:
        answer = answers.next(WARM_START_SECONDS)
    except (OSError, EOFError):
        answer = None
    if answer is None or "pid" not in answer:
        conn.close()
        return None
    return Launched(int(answer["pid"]), answers)


class RunServer:
    """One run server of this worker, as its worker sees it."""

    def __init__(self, path: str, output: int, alive: int) -> None:
        self.path, self.alive = path, alive
        self.used = time.monotonic()
        self.ready = threading.Event()
        self.ended = threading.Event()
        self.early = ""  # what it printed while loading
        threading.Thread(target=self._read, args=(output,), daemon=True).start()

    def _read(self, output: int) -> None:
        """Its output: what it said while loading, then its READY line; after that, drained
        (a run server prints nothing more unless something went wrong)."""
        with os.fdopen(output, "r", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if self.ready.is_set():
                    continue
                if line.rstrip("\n") == READY:
                    self.ready.set()
                else:
                    self.early += line
        self.ended.set()
        self.ready.set()  # whoever waits for it: it is gone
        # Its socket's folder (made here): it may not have removed it (killed, refused).
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)

    def usable(self, seconds: float) -> bool:
        self.ready.wait(seconds)
        return self.ready.is_set() and not self.ended.is_set()

    def close(self) -> None:
        """It serves no more tasks and leaves once those it runs ended (warm.py)."""
        with contextlib.suppress(OSError):
            os.close(self.alive)


class RunServers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.servers: OrderedDict[str, RunServer] = OrderedDict()
        self.refused: set[str] = set()  # keys whose run a server could not load

    def get(
        self, warm: str, key: str, request: dict[str, Any], said: Callable[[str], None]
    ) -> RunServer | None:
        with self.lock:
            if key in self.refused:
                return None
            server = self.servers.get(key)
            if server is not None and server.ended.is_set():
                del self.servers[key]  # it left (idle, stale): another one
                server.close()
                server = None
            started = server is None
            if server is None:
                server = self._start(warm, request)
                if server is None:
                    return None
                self.servers[key] = server
                while len(self.servers) > MAX_RUN_SERVERS:
                    _, oldest = self.servers.popitem(last=False)
                    oldest.close()
            self.servers.move_to_end(key)
        if server.usable(READY_SECONDS):
            if started and server.early:
                said(server.early)
            return server
        with self.lock:
            if started and server.ended.is_set():
                if len(self.refused) >= MAX_REFUSED:
                    self.refused.clear()
                self.refused.add(key)  # its own inv will say why
            if self.servers.get(key) is server:
                del self.servers[key]
        server.close()
        return None

    def retire(self, key: str, server: RunServer) -> None:
        with self.lock:
            if self.servers.get(key) is server:
                del self.servers[key]
        server.close()

    def _start(self, warm: str, request: dict[str, Any]) -> RunServer | None:
        env = request["env"]
        assert isinstance(env, dict)
        shared = {k: v for k, v in env.items() if k not in TASK_VARIABLES}
        path = os.path.join(tempfile.mkdtemp(prefix="gotasks-run-"), "s")
        output_read, output_write = os.pipe()
        alive_read, alive_write = os.pipe()
        try:
            launched = _ask(
                warm, {**request, "env": shared, "serve": path}, [output_write, alive_read]
            )
        finally:
            os.close(output_write)
            os.close(alive_read)
        if launched is None:
            os.close(output_read)
            os.close(alive_write)
            return None
        assert launched.answers is not None
        launched.answers.conn.close()  # its exit is of no task's
        return RunServer(path, output_read, alive_write)


_RUN_SERVERS = RunServers()


def _run_server(
    warm: str, key: str, request: dict[str, Any], said: Callable[[str], None]
) -> RunServer | None:
    if os.environ.get("GOTASKS_RUN_SERVER") == "0":
        return None
    return _RUN_SERVERS.get(warm, key, request, said)


_warm_lock = threading.Lock()
_warm: tuple[subprocess.Popen[bytes], str] | None = None
_warm_failed = False


def _warm_server(env: dict[str, str]) -> str | None:
    """The socket of this worker's warm inv server (warm.py), started on first use; None if
    it cannot start (each task then starts `inv` itself, as it would without it)."""
    global _warm, _warm_failed
    with _warm_lock:
        if _warm is not None and _warm[0].poll() is None:
            return _warm[1]
        if _warm_failed or os.environ.get("GOTASKS_WARM") == "0":
            return None
        # A short path: a socket's may not exceed ~107 bytes.
        path = os.path.join(tempfile.mkdtemp(prefix="gotasks-warm-"), "s")
        server = subprocess.Popen(
            [sys.executable, "-m", "gotasks.remote.warm", path],
            # Its stdin is a pipe this worker holds: closed when the worker dies, however.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": env["PYTHONPATH"]},
            start_new_session=True,
        )
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"ready":
            server.kill()
            server.wait()
            _warm_failed = True
            return None
        _warm = (server, path)
        return path
