"""Each task's commands in their own process group, measured and, when needed, stopped."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from subprocess import PIPE, Popen
from typing import TYPE_CHECKING, Any

from invoke.exceptions import UnexpectedExit
from invoke.runners import Local, Result, normalize_hide

from gotasks.core import cancel, console, reaper
from gotasks.core.errors import Stopped
from gotasks.engine import stops

if TYPE_CHECKING:
    import psutil
from gotasks.engine.output import TaskStream, current_output
from gotasks.engine.run import run_state


@dataclass(slots=True)
class TaskProcesses:
    """The process groups one task started, and what its process trees used."""

    name: str
    groups: list[int] = field(default_factory=list)
    peak_rss: int = 0
    cpu_seconds: float = 0.0
    stop_reason: str | None = None  # set when gotasks killed it: "memory ...", "timeout ..."
    _on_stop: list[Callable[[], None]] = field(default_factory=list)
    _cpu_by_pid: dict[int, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_group(self, pgid: int) -> None:
        with self._lock:
            self.groups.append(pgid)

    def roots(self) -> list[int]:
        with self._lock:
            return list(self.groups)

    def sample(self, table: ProcessTable | None = None) -> int:
        """Memory of every live process in the task's groups now (RSS, or PSS for a tree of
        several); peaks and CPU time kept up to date. `table` (process_table()) lets one
        read of the process table serve every running task."""
        import psutil

        rss = 0
        tree = _tree(self.roots(), table or process_table())
        # Summed RSS counts pages the processes share once per process; for a tree of
        # several, PSS (each shared page split among its sharers) adds up to the truth.
        shared = len(tree) > 1
        for proc in tree:
            try:
                with proc.oneshot():
                    rss += _pss(proc) if shared else proc.memory_info().rss
                    times = proc.cpu_times()
                    self._cpu_by_pid[proc.pid] = times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.cpu_seconds = sum(self._cpu_by_pid.values())
        return rss

    def watch_stop(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self.stop_reason is not None:
                return False
            self._on_stop.append(callback)
            return True

    def unwatch_stop(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._on_stop.remove(callback)

    def tree(self) -> list[psutil.Process]:
        """The task's live processes now: its group leaders and their descendants (what a
        progress report looks at; the group scan that also finds re-parented ones is the
        monitor's)."""
        return _tree(self.roots(), process_table())

    def stop(self, reason: str, grace: float = 2.0) -> None:
        """TERM every group, then KILL what is left after `grace` seconds. From now on a
        command this task starts is killed as soon as it starts."""
        if self.stop_reason is None:
            self.stop_reason = reason
        with self._lock:
            callbacks = list(self._on_stop)
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback()
        self.end(grace)

    def end(self, grace: float = 2.0) -> None:
        """TERM, then KILL, whatever is still alive in the task's groups."""
        with self._lock:
            groups = list(self.groups)
        signal_groups(groups, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(g) for g in groups):
            time.sleep(0.05)
        signal_groups(groups, signal.SIGKILL)
        reaper.forget(groups)


@dataclass(frozen=True, slots=True)
class ProcessTable:
    """Every live process's group and parent, from one read of the process table."""

    groups: dict[int, list[int]]  # pgid -> pids
    children: dict[int, list[int]]  # ppid -> pids


def process_table() -> ProcessTable:
    """One read of /proc/*/stat (each process's parent and group), else psutil's walk: what
    a monitor tick needs for every running task's trees (psutil's children() would read
    the whole table again for each task)."""
    groups: dict[int, list[int]] = {}
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return _table_from_psutil()
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                line = stat.read()
            # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
            fields = line[line.rindex(b")") + 2 :].split()
            ppid, pgid = int(fields[1]), int(fields[2])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        pid = int(name)
        children.setdefault(ppid, []).append(pid)
        groups.setdefault(pgid, []).append(pid)
    return ProcessTable(groups, children)


def _table_from_psutil() -> ProcessTable:
    import psutil

    groups: dict[int, list[int]] = {}
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            pgid = os.getpgid(proc.pid)
            children.setdefault(proc.info["ppid"], []).append(proc.pid)
            groups.setdefault(pgid, []).append(proc.pid)
    return ProcessTable(groups, children)


def _tree(roots: list[int], table: ProcessTable) -> list[psutil.Process]:
    """Every process in the given groups, and the leaders' descendants: a double-forked
    child that re-parented away still counts (it keeps its group)."""
    import psutil

    wanted: dict[int, None] = {}
    for pgid in roots:
        pending = [pgid]
        while pending:
            pid = pending.pop()
            if pid not in wanted:
                wanted[pid] = None
                pending += table.children.get(pid, [])
        for pid in table.groups.get(pgid, []):
            wanted.setdefault(pid)
    found = []
    for pid in wanted:
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(pid))
    return found


def _pss(proc: psutil.Process) -> int:
    import psutil

    try:
        return int(getattr(proc.memory_full_info(), "pss", 0)) or proc.memory_info().rss
    except psutil.AccessDenied:
        return int(proc.memory_info().rss)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def signal_groups(groups: list[int], signum: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


def bound() -> TaskProcesses | None:
    """The task whose commands this thread starts (bound by the runner, see core/cancel.py)."""
    source = cancel.bound()
    return source if isinstance(source, TaskProcesses) else None


WATCH_TAIL = 4096  # characters of earlier output a watcher sees with each new read
# Where invoke's Responder and FailingResponder keep how far into the stream they have seen.
_WATCHER_POSITIONS = ("index", "failure_index")


def _shift_positions(watcher: object, dropped: int) -> None:
    """The text a watcher sees lost `dropped` characters at its front: positions it keeps
    into that text (invoke's Responder's) move back by as much."""
    for name in _WATCHER_POSITIONS:
        position = getattr(watcher, name, None)
        if isinstance(position, int) and not isinstance(position, bool):
            setattr(watcher, name, max(0, position - dropped))


# What an echoed command may show: the app hides credentials (GOPROXY=https://u:***@host).
_echo_filters: list[Callable[[str], str]] = []


def filter_echo(hide: Callable[[str], str]) -> None:
    """Pass every echoed command line (--echo, --dry) through `hide` before it is shown."""
    if hide not in _echo_filters:
        _echo_filters.append(hide)


_CD_PREFIX = re.compile(r"^(cd (?:'[^']*'|\S+) && )")


def echo_line(command: str, env: dict[str, str], environ: dict[str, str]) -> str:
    """The command as a shell would run it: the variables gotasks set that differ from the
    caller's (PATH as its added part), after the leading `cd DIR && ` if there is one."""
    words = []
    for name in sorted(env):
        value = env[name]
        if environ.get(name) == value:
            continue
        before = environ.get(name)
        if name == "PATH" and before and value.endswith(os.pathsep + before):
            words.append(f'PATH="{value[: -len(before)]}$PATH"')
        else:
            words.append(f"{name}={shlex.quote(value)}")
    if not words:
        return command
    cd = _CD_PREFIX.match(command)
    head = cd.group(1) if cd else ""
    return f"{head}{' '.join(words)} {command[len(head) :]}"


def _raise_if_stopped() -> None:
    """A command that ended because its task was stopped (Ctrl-C, its memory or time
    limit) has no result worth reading: what it printed was cut off, and a body that
    parsed it would report failed tests or builds with empty bodies. The body gets Stopped
    instead, so the task ends there (its cleanup still runs) and is reported as stopped."""
    processes = bound()
    if processes is not None and processes.stop_reason is not None:
        raise Stopped(processes.stop_reason)
    if stops.received() is not None:
        raise Stopped("interrupted")


class GroupRunner(Local):
    """invoke's Local runner, with each command in a new session (its own process group),
    so a task's whole tree can be measured and stopped, and Ctrl-C leaves nothing behind."""

    # invoke reads 1000 bytes at a time; a read returns what the pipe holds up to this, so
    # a larger size adds no delay and makes 20 MB of test output 300 reads, not 20,000.
    read_chunk_size = 64 * 1024

    def run(self, command: str, **kwargs: Any) -> Result:
        try:
            result = super().run(command, **kwargs)
        except UnexpectedExit:
            _raise_if_stopped()
            raise
        _raise_if_stopped()
        return result

    def start(self, command: str, shell: str, env: dict[str, Any]) -> None:
        if self.using_pty:
            super().start(command, shell, env)
            return
        reaper.arm()  # what dies with `inv`, even a killed one (gotasks/core/reaper.py)
        self.process = Popen(
            command,
            shell=True,
            executable=shell,
            env=env,
            stdout=PIPE,
            stderr=PIPE,
            stdin=PIPE,
            start_new_session=True,
        )
        reaper.watch(self.process.pid)
        processes = bound()
        if processes is not None:
            processes.add_group(self.process.pid)
        if stops.received() is not None or (
            processes is not None and processes.stop_reason is not None
        ):
            # The run or the task was stopped (Ctrl-C, memory, timeout): its next command
            # dies too.
            signal_groups([self.process.pid], signal.SIGKILL)

    def respond(self, buffer_: list[str]) -> None:
        """invoke's respond() joins the whole captured output on every read (1000 bytes) to
        show it to the watchers: quadratic, minutes for a test that prints 20 MB. Without
        watchers there is nothing to do; with them, each sees the new text and a bounded
        tail of what came before (WATCH_TAIL characters), so a pattern split across two
        reads still matches, in linear time."""
        if not self.watchers:
            return
        window = self._watch_windows.get(id(buffer_), "") + buffer_[-1]
        dropped = max(0, len(window) - WATCH_TAIL - len(buffer_[-1]))
        window = window[dropped:]
        self._watch_windows[id(buffer_)] = window
        for watcher in self.watchers:
            if dropped:
                _shift_positions(watcher, dropped)
            for response in watcher.submit(window):
                self.write_proc_stdin(response)

    @property
    def _watch_windows(self) -> dict[int, str]:
        windows: dict[int, str] | None = getattr(self, "_windows", None)
        if windows is None:
            windows = {}
            self._windows = windows  # per stream (its capture list): stdout's and stderr's
        return windows

    def _unify_kwargs_with_config(self, kwargs: Any) -> None:
        # A command's output reaches its task's block through a stream of that task, and
        # invoke shows a stream that is set even where `hide` asks not to. Only a stream
        # handed to this very call may do that; hidden stays hidden.
        explicit_out = kwargs.get("out_stream") is not None
        explicit_err = kwargs.get("err_stream") is not None
        hide = kwargs.get("hide")
        if hide is None:
            hide = self.context.config.run.hide
        run = self.context.config.run
        # `inv --echo` and `--dry` show every command, the hidden ones too (invoke echoes only
        # what it does not hide, and gotasks hides most tools' output to report it itself).
        echo = kwargs.get("echo") or run.echo or run.dry
        super()._unify_kwargs_with_config(kwargs)
        self.opts["echo"] = bool(echo)
        # Started from a task's thread (or a map_in_task thread of it): invoke's reader
        # threads copy the output to that task's own streams, not to the shared sys.stdout.
        output = current_output()
        if output is not None:
            if self.opts["out_stream"] is None:
                self.streams["out"] = TaskStream(output.write)
            if self.opts["err_stream"] is None:
                self.streams["err"] = TaskStream(output.write_err)
        if self._asynchronous:
            hide = True
        self.opts["hide"] = normalize_hide(
            hide, "given" if explicit_out else None, "given" if explicit_err else None
        )

    def echo(self, command: str) -> None:
        line = echo_line(command, self.opts["env"] or {}, dict(os.environ))
        for hide in _echo_filters:
            line = hide(line)
        if self.context.config.run.dry and not self.opts["dry"]:
            line += "  # read-only: runs in a dry run too"
        text = self.opts["echo_format"].format(command=line)
        stream = run_state(self.context.config).echo_stream or sys.stdout
        print(text if console.use_color() else console.strip_color(text), file=stream, flush=True)

    def kill(self) -> None:
        if self.using_pty:
            super().kill()
            return
        signal_groups([self.process.pid], signal.SIGKILL)
