"""Owner records: which process made a scratch folder, so that a later run can tell what a
killed run left behind from what a live one is still using. A pid alone would not do (pids
are reused), so the record also holds the process's start time, and the host it runs on."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

import psutil

# psutil derives a start time from the kernel's boot time, which some kernels report a second
# apart from one read to the next; a reused pid starts later than that.
_SAME_START = 1.0
_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")
_RECORD = re.compile(r"^(?P<pid>[0-9]+)-(?P<started>[0-9]+\.[0-9]{2})-(?P<host>[A-Za-z0-9._]+)$")


@dataclass(frozen=True)
class Owner:
    pid: int
    started: float  # seconds since the epoch, as psutil's create_time()
    host: str

    @property
    def record(self) -> str:
        """The owner as a file-name part: `<pid>-<start time>-<host>`."""
        return f"{self.pid}-{self.started:.2f}-{self.host}"

    def is_gone(self) -> bool:
        """True only when this owner has certainly ended: its pid is gone, a zombie or
        another process's. An owner on another host (a shared folder) is never gone to us."""
        if self.host != _host():
            return False
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
            return abs(process.create_time() - self.started) > _SAME_START
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False  # not ours to look at (AccessDenied): it may well be running


def me() -> Owner:
    return Owner(os.getpid(), round(psutil.Process().create_time(), 2), _host())


def parse(record: str) -> Owner | None:
    """The owner in a record made by Owner.record; None if `record` is not one."""
    found = _RECORD.match(record)
    if found is None:
        return None
    return Owner(int(found["pid"]), float(found["started"]), found["host"])


def _host() -> str:
    return _UNSAFE.sub("_", socket.gethostname()) or "localhost"
