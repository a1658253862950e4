"""Parsing of the resources a task claims: cores, memory, pool, time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.engine.errors import UsageError

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_bytes(value: int | float | str, what: str) -> int:
    """Bytes from an int or a size like "512M", "2G", "1.5GiB" (powers of 1024)."""
    if isinstance(value, bool):
        raise UsageError(f"{what}: expected bytes or a size like '512M', got {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise UsageError(f"{what}: must be more than 0, got {value!r}")
        return int(value)
    match = _SIZE.match(value)
    if not match:
        raise UsageError(f"{what}: expected bytes or a size like '512M' or '2G', got {value!r}")
    number = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if number <= 0:
        raise UsageError(f"{what}: must be more than 0, got {value!r}")
    return int(number)


@dataclass(frozen=True)
class Claims:
    """What a task declares it needs; the scheduler admits it against these."""

    cpu: float = 1.0
    mem: int = 256 * 1024**2
    pool: str | None = None
    exclusive: bool = False
    timeout: float | None = None

    @classmethod
    def parse(
        cls,
        name: str,
        cpu: float = 1.0,
        mem: int | str = "256M",
        pool: str | None = None,
        exclusive: bool = False,
        timeout: float | None = None,
    ) -> Claims:
        if isinstance(cpu, bool) or not isinstance(cpu, int | float) or cpu <= 0:
            raise UsageError(f"task {name}: cpu= must be a number of cores above 0, got {cpu!r}")
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise UsageError(f"task {name}: timeout= must be seconds above 0, got {timeout!r}")
        return cls(
            cpu=float(cpu),
            mem=parse_bytes(mem, f"task {name}: mem="),
            pool=pool,
            exclusive=exclusive,
            timeout=None if timeout is None else float(timeout),
        )
