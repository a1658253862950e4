"""A run's commands die with it, even when `inv` itself is killed (SIGKILL, OOM killer).

Each command runs in a session of its own (so the terminal's Ctrl-C reaches gotasks, not
go, and a task's tree can be stopped as one), which also means nothing kills it when
`inv` dies. PR_SET_PDEATHSIG does not fit: it is Linux only, it fires when the *thread*
that forked exits (gotasks forks from task threads that end with their task), and a fork
clears it, so the test binary `go test` starts would not get it anyway.

So a watcher process (watcher.py), started before the first command, holds the read end of
a pipe whose only writer is `inv`. When `inv` ends, however it ends, the kernel closes that
pipe; the watcher reads end-of-file and kills (TERM, then KILL after a grace period) every process
group `inv` told it about plus every process that carries this run's token in its
environment (every descendant inherits it: go test's test binary, a `cmd &`). This works
wherever there are pipes and process groups (Linux, macOS, BSDs); `inv` without a watcher
(it could not start) still stops its commands itself on Ctrl-C, SIGTERM and SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

TOKEN_VARIABLE = "GOTASKS_RUN_TOKEN"  # watcher.py has its own copy: it imports nothing

_lock = threading.Lock()
_pipe: IO[str] | None = None
_token: str | None = None  # set in the `inv` command only (tasks.py)
_broken = False


def mark_run() -> None:
    """Give this process (and so everything it starts from now on) a token of its own. A
    nested `inv` replaces its parent's: each watcher kills its own run, and the outer one
    also kills the nested `inv`, whose own watcher then does the rest."""
    global _token
    _token = os.urandom(8).hex()  # secrets.token_hex, without importing secrets (hmac)
    os.environ[TOKEN_VARIABLE] = _token


def forked() -> None:
    """In a process forked from a run's (a cluster worker's run server, remote/warm.py): a
    run of its own, with a token of its own and, once it starts a command, a watcher of its
    own; the parent's watcher pipe, if it had one, is the parent's."""
    global _pipe, _broken
    with _lock:
        if _pipe is not None:
            with contextlib.suppress(OSError):
                _pipe.close()  # this process's copy of it
        _pipe, _broken = None, False
    mark_run()


def arm() -> None:
    """Start the watcher, if it is not running yet: before a command is forked, so that no
    moment exists where a command runs and nothing would kill it. (A run that starts no
    command, or only short ones in `inv`'s own process group, never starts one.)
    Nothing without mark_run: a program that merely imports gotasks (pytest) may carry an
    outer run's token, and its watcher must not kill that run."""
    global _pipe, _broken
    with _lock:
        if _pipe is not None or _broken or _token is None:
            return
        try:
            _pipe = _start()
        except OSError:
            _broken = True  # `inv` still stops its commands itself on a signal


def watch(pgid: int) -> None:
    """Have the watcher kill this process group if `inv` dies before the group ends."""
    _send(f"+{pgid}\n")


def forget(pgids: list[int]) -> None:
    """These groups ended: their numbers may be reused by someone else's processes."""
    _send("".join(f"-{pgid}\n" for pgid in pgids))


def _send(lines: str) -> None:
    with _lock:
        if _pipe is None or not lines:
            return
        # A watcher that died: the token it would have scanned for is all that is left.
        with contextlib.suppress(OSError):
            _pipe.write(lines)
            _pipe.flush()


def _start() -> IO[str]:
    assert _token is not None
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}  # not itself
    watcher = subprocess.Popen(
        # -S: no site-packages until it is needed (watcher.py), so it starts in a blink;
        # -P: gotasks/engine/ must not shadow the standard library (its trace.py would).
        [sys.executable, "-S", "-P", str(Path(__file__).with_name("watcher.py")), _token],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
        # Out of `inv`'s session: the terminal's Ctrl-C and a signal to `inv`'s process
        # group (timeout(1), kill -- -pgid) must not kill it before it has done its job.
        start_new_session=True,
    )
    assert watcher.stdin is not None
    return watcher.stdin
