"""Runs of gotasks on one machine share one CPU and memory budget: make's jobserver idea.

Each run keeps a lease, <folder>/<pid>.json: who it is (pid and start time, project,
command) and what its running tasks claim now, rewritten whole whenever that changes.
Admission, under a lock every run takes, counts the machine's capacity less what the
other runs' leases hold. A lease is only as alive as its process: one whose pid is gone,
or now belongs to a later process, is removed by the next run that reads it, so a run
that was killed frees its share.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psutil

from gotasks.core import console
from gotasks.core.errors import describe
from gotasks.core.files import atomic_write_text, locked
from gotasks.core.units import format_bytes
from gotasks.engine.admission import Job, Limits
from gotasks.engine.run import current_app, env_name


def lease_folder(environ: Mapping[str, str]) -> Path:
    """$GOTASKS_LEASE_DIR, else $XDG_RUNTIME_DIR/gotasks, else /tmp/gotasks-UID (the
    app's prefix and name: engine.run.register_app)."""
    variable, name = env_name("LEASE_DIR"), current_app().name
    if environ.get(variable):
        return Path(environ[variable])
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / name
    return Path(tempfile.gettempdir()) / f"{name}-{os.getuid()}"


@dataclass(frozen=True)
class Lease:
    pid: int
    started: float  # the process's start time: a reused pid is not the same run
    root: str
    command: str
    cpu: float = 0.0
    mem: int = 0

    def describe(self) -> str:
        return (
            f"pid {self.pid} (`{self.command}` in {self.root}) holds {self.cpu:g} CPUs,"
            f" {format_bytes(self.mem)}"
        )


def _start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _alive(lease: Lease) -> bool:
    started = _start_time(lease.pid)
    return started is not None and abs(started - lease.started) < 1.0


def _stopped(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_STOPPED)
    except psutil.Error:
        return False


class Leases:
    """This run's lease, and the other runs' live ones."""

    def __init__(self, folder: Path, root: str, command: str | None = None) -> None:
        self.folder = folder
        pid = os.getpid()
        self.mine = Lease(
            pid=pid,
            started=_start_time(pid) or 0.0,
            root=root,
            command=command or " ".join(["inv", *sys.argv[1:]]),
        )
        self.path = folder / f"{pid}.json"
        self._written: Lease | None = None

    @contextlib.contextmanager
    def admitting(self) -> Iterator[None]:
        """Held while a run reads the others' leases, admits, and writes its own: two runs
        must not both give away the same free cores."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with locked(self.folder / "lock"):
            yield

    def others(self) -> list[Lease]:
        """The other runs' live leases; dead ones are removed."""
        found = []
        for path in sorted(self.folder.glob("*.json")):
            if path == self.path:
                continue
            try:
                lease = Lease(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # being replaced, or not a lease: nothing to count
            if not _alive(lease):
                path.unlink(missing_ok=True)
            elif not _stopped(lease.pid):  # a stopped run (Ctrl-Z, SIGSTOP) runs nothing
                found.append(lease)
        return found

    def hold(self, cpu: float, mem: int) -> None:
        """Publish what this run's running tasks claim now."""
        lease = Lease(**{**asdict(self.mine), "cpu": round(cpu, 3), "mem": int(mem)})
        if lease == self._written:
            return  # a run of thousands of tasks holds the same again and again
        # Not synced: a lease is worth nothing once its process is gone, crash or not.
        atomic_write_text(self.path, json.dumps(asdict(lease)), durable=False)
        self._written = lease

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
        self._written = None


class SharedMachine:
    """The scheduler's side of the leases: this run's share of the machine, kept up to
    date, and a line saying which runs it waits for. A lease folder that cannot be used
    (read-only, full) costs the sharing, never the run."""

    def __init__(self, leases: Leases | None) -> None:
        self.leases = leases
        self._said: tuple[set[int], bool] = (set(), False)

    @contextlib.contextmanager
    def admitting(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            if self.leases is not None:
                try:
                    stack.enter_context(self.leases.admitting())
                except OSError as error:
                    self._broken(error)
            yield

    def others(self) -> list[Lease]:
        if self.leases is None:
            return []
        try:
            return [lease for lease in self.leases.others() if lease.cpu or lease.mem]
        except OSError as error:
            self._broken(error)
            return []

    @staticmethod
    def share_of(limits: Limits, others: list[Lease]) -> Limits:
        """`limits` less what the other runs hold."""
        if not others:
            return limits
        cpus = max(0.0, limits.cpus - sum(lease.cpu for lease in others))
        memory = max(0, limits.memory - sum(lease.mem for lease in others))
        return replace(limits, cpus=cpus, memory=memory)

    def hold(self, running: list[Job]) -> None:
        if self.leases is None:
            return
        try:
            self.leases.hold(sum(job.cpu for job in running), sum(job.mem for job in running))
        except OSError as error:
            self._broken(error)

    def say_who_holds(self, others: list[Lease], share: Limits, waiting: bool) -> None:
        """Once per set of holders (and again when this run starts to wait): which other
        runs hold part of the machine, and what is left for this one."""
        said = ({lease.pid for lease in others}, waiting)
        if not others or said == self._said:
            return
        self._said = said
        head = (
            "waiting: other gotasks runs hold the machine:"
            if waiting
            else f"sharing: this run has {share.cpus:g} CPUs, {format_bytes(share.memory)};"
            " other gotasks runs hold the rest:"
        )
        lines = [f"{head} {others[0].describe()}"]
        lines += [f"  {lease.describe()}" for lease in others[1:]]
        print("\n".join(lines), file=sys.stderr, flush=True)

    def release(self) -> None:
        if self.leases is not None:
            with contextlib.suppress(OSError):
                self.leases.release()

    def _broken(self, error: OSError) -> None:
        assert self.leases is not None
        folder, self.leases = self.leases.folder, None
        console.warn(
            f"cannot share the machine with other runs through {folder}: {describe(error)}"
        )
