"""Ctrl-C, SIGTERM and SIGHUP: one stop per run, however many arrive and whenever.

Only the first stop signal does anything; every later one is noted and dropped, so a
second Ctrl-C (or `timeout` sending SIGTERM to the process and to its group at once) can
never cut the cleanup of the first short. What the first one does depends on the phase
the main thread is in (`phase`):

- "exit" (loading, parsing, after the run): nothing of the run exists (or it is all done
  and saved), exit 130 at once.
- "raise" (preparing the run: settings, an SDK install): KeyboardInterrupt, so the Python
  work under way unwinds through its own rollback (the executor turns it into exit 130).
- "flag" (the scheduler's loop): nothing is raised; the loop sees `received()` and stops
  every task itself, from a known place, never from inside its own bookkeeping.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from gotasks.core import cancel

INTERRUPTED_EXIT = 130
# SIGHUP does not exist on Windows.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_phase = "exit"
_received: int | None = None
_installed = False
_command = False  # the `gotasks` command, not `inv`: see take_over()
# A cluster worker's run of one task: the read end of a pipe only the Dask worker holds open.
PARENT_FD_VARIABLE = "GOTASKS_PARENT_FD"


def loaded_by_inv() -> bool:
    """True in a command that runs gotasks' tasks: `gotasks` (take_over() ran) or `inv` /
    `python -m invoke`, whose __main__ holds invoke's Program."""
    if _command:
        return True
    from invoke.program import Program

    return isinstance(getattr(sys.modules.get("__main__"), "program", None), Program)


def take_over() -> None:
    """The `gotasks` command's first statement: the stop signals are gotasks' from here on,
    before invoke or the project's tasks.py load (importing this module costs a few
    milliseconds: nothing of invoke, nothing of the engine)."""
    global _command
    _command = True
    install()


def install() -> None:
    """Take over the stop signals; called as early as gotasks is loaded (tasks.py). Once
    per process: the `gotasks` command calls it, then tasks.py's namespace() again."""
    global _installed
    if _installed:
        return
    _installed = True
    # Long Python work below the engine learns of a stop signal through core's check_stop.
    cancel.watch_signals(lambda: _received is not None)
    for signum in STOP_SIGNALS:
        # ValueError: not the main thread (gotasks imported by something else), leave it.
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, _handle)
    # Python puts the default action (death by that signal) back for the last moments of
    # its exit; by then there is nothing left to stop, and the exit code is decided.
    atexit.register(_ignore)


def stop_with_parent() -> None:
    """In a cluster worker's run of one task: stop as on SIGTERM (the run's commands, then
    exit 130) when the Dask worker that started it dies, SIGKILL included. Its end of the
    pipe closes then; a process reparented after its parent's death would go on for ever,
    and nothing kills a session of its own (PR_SET_PDEATHSIG fires when the forking *thread*
    ends, and Dask's task threads come and go)."""
    value = os.environ.pop(PARENT_FD_VARIABLE, "")
    if not value.isdigit():
        return
    import threading

    fd = int(value)
    with contextlib.suppress(OSError):
        os.set_inheritable(fd, False)  # the run's commands have no business with it

    def wait() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 1):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="gotasks-parent", daemon=True).start()


def _ignore() -> None:
    for signum in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_IGN)


def received() -> int | None:
    """The first stop signal this process got, if any."""
    return _received


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """What a first stop signal does while the block runs (see the module's doc)."""
    global _phase
    previous, _phase = _phase, name
    try:
        yield
    finally:
        _phase = previous


def _handle(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:
        return  # the first one's stop is under way: nothing may interrupt it
    _received = signum
    if _phase == "exit":
        # Not an exception: raised at a random point it can come out as another one (an
        # exception in a class body's __set_name__ becomes a RuntimeError), with a traceback.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(INTERRUPTED_EXIT)
    if _phase == "raise":
        raise KeyboardInterrupt("interrupted")  # the words logs show for it
