"""The watcher of one `inv` run (started by reaper.py): when `inv` ends, however it ends,
stop what it left running. A script of its own, importing only what it needs before that
moment, so that starting it costs the run next to nothing."""

import contextlib
import os
import signal
import sys
import time

TOKEN_VARIABLE = "GOTASKS_RUN_TOKEN"  # as in reaper.py
GRACE_SECONDS = 2.0


def watch(token: str) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin:  # until `inv` ends and the kernel closes its end of the pipe
        with contextlib.suppress(ValueError):
            number = int(line[1:])
            if line.startswith("+"):
                groups.add(number)
            else:
                groups.discard(number)
    targets = _targets(token, groups)
    if not targets:
        return
    _signal_all(targets, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in targets):
        time.sleep(0.05)
    # Anything started since (a command's child forked during the grace) carries the token.
    _signal_all(targets | _targets(token, groups), signal.SIGKILL)


def _targets(token: str, groups: set[int]) -> set[int]:
    """Live processes of the run: in a group `inv` started, or carrying its token."""
    found = _targets_in_proc(token, groups)
    return found if found is not None else _targets_by_psutil(token, groups)


def _targets_in_proc(token: str, groups: set[int]) -> set[int] | None:
    """As _targets, from /proc itself (None: no /proc): what psutil reads there, without
    importing it, which cost each run's watcher ~50 ms of CPU (a cluster worker runs one
    per task)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    wanted = f"{TOKEN_VARIABLE}={token}".encode()
    found: set[int] = set()
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        try:
            if os.getpgid(pid) in groups:
                found.add(pid)
                continue
            with open(f"/proc/{name}/environ", "rb") as environ:
                if wanted in environ.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            continue
    return found


def _targets_by_psutil(token: str, groups: set[int]) -> set[int]:
    import site  # started with -S: site-packages (psutil) only now that they are needed

    site.main()
    import psutil

    found: set[int] = set()
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if os.getpgid(proc.pid) in groups or proc.environ().get(TOKEN_VARIABLE) == token:
                found.add(proc.pid)
        except (OSError, psutil.Error):
            continue
    return found


def _signal_all(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    watch(sys.argv[1])
