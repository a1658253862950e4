"""Parsing of the resources a task claims: cores, memory, pool, time."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gotasks.core.errors import UsageError

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_bytes(value: int | float | str, what: str) -> int:
    """Bytes from an int or a size like "512M", "2G", "1.5GiB" (powers of 1024)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"{what}: expected bytes or a size like '512M', got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise UsageError(f"{what}: must be more than 0, got {value!r}")
        return int(value)
    match = _SIZE.match(value)
    if not match:
        raise UsageError(f"{what}: expected bytes or a size like '512M' or '2G', got {value!r}")
    number = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if number <= 0:
        raise UsageError(f"{what}: must be more than 0, got {value!r}")
    return int(number)


def _positive_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


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
        if not _positive_number(cpu):
            raise UsageError(f"task {name}: cpu= must be a number of cores above 0, got {cpu!r}")
        if timeout is not None and not _positive_number(timeout):
            raise UsageError(f"task {name}: timeout= must be seconds above 0, got {timeout!r}")
        if pool is not None and not isinstance(pool, str):
            raise UsageError(f"task {name}: pool= must be a pool's name, got {pool!r}")
        return cls(
            cpu=float(cpu),
            mem=parse_bytes(mem, f"task {name}: mem="),
            pool=pool,
            exclusive=exclusive,
            timeout=None if timeout is None else float(timeout),
        )
