"""How many cores and bytes the scheduler may use: affinity, cgroup quotas, psutil, overrides."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psutil

from gotasks.core.errors import UsageError
from gotasks.core.units import format_bytes
from gotasks.engine.claims import parse_bytes
from gotasks.engine.run import env_name

MIB = 1024**2
RESERVE_FLOOR = 256 * MIB
RESERVE_SHARE = 0.05
# Less than this cannot run a Go compile; a bare "1" is a slip for "1G", not a wish.
MEMORY_FLOOR = 64 * MIB
# cgroup v1 writes "no limit" as the largest page-aligned long (9223372036854771712); no real
# machine comes near 2**60 bytes, so anything above is read as unlimited.
UNLIMITED_BYTES = 2**60


def overrides() -> dict[str, tuple[str, str]]:
    """detect's overrides: (variable, config key), each named so in its error messages
    (GOTASKS_CPUS, scheduler.cpus: the variable's prefix is the app's)."""
    return {
        key: (env_name(key.upper()), f"scheduler.{key}") for key in ("cpus", "memory", "reserve")
    }


@dataclass(frozen=True)
class Capacity:
    """What the scheduler may use, and how each figure was found."""

    cpus: float
    memory: int
    reserve: int
    sources: dict[str, str] = field(default_factory=dict)
    # What was asked for but cannot be had (more CPUs or memory than the machine has), and
    # what is used instead: a run says it once, doctor as a warning.
    clamped: tuple[str, ...] = ()


def detect(
    cpus: str | float | int | None = None,
    memory: str | int | None = None,
    reserve: str | int | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    proc_self_cgroup: Path = Path("/proc/self/cgroup"),
) -> Capacity:
    """The capacity to schedule against: arguments come from config, the environment beats them."""
    env = os.environ if environ is None else environ
    named = overrides()
    cpus_value, cpus_what = _override(env, *named["cpus"], cpus)
    memory_value, memory_what = _override(env, *named["memory"], memory)
    reserve_value, reserve_what = _override(env, *named["reserve"], reserve)

    affinity = affinity_cpus()
    cpu_limit = cgroup_cpu_limit(cgroup_root, proc_self_cgroup)
    if cpu_limit is not None and cpu_limit[0] < affinity:
        machine_cpus, machine_cpus_source = cpu_limit[0], f"{cpu_limit[1]} (affinity {affinity})"
    else:
        machine_cpus, machine_cpus_source = float(affinity), f"CPU affinity {affinity}"
        if cpu_limit is not None:
            machine_cpus_source += f" ({cpu_limit[1]} allows more)"
    clamped: list[str] = []
    if cpus_value is None:
        found_cpus, cpus_source = machine_cpus, machine_cpus_source
    else:
        found_cpus = parse_cpus(cpus_value, cpus_what, machine_cpus)
        # More cores than the machine has would only admit more work than it can run.
        most = float(os.cpu_count() or affinity)
        if found_cpus > most:
            clamped.append(
                f"{cpus_what}={cpus_value}: this machine has {most:g} CPUs; using {most:g}"
            )
            found_cpus = most
        cpus_source = _described(cpus_what, cpus_value, f"{found_cpus:g}", f"{machine_cpus:g}")

    vm = psutil.virtual_memory()
    memory_limit = cgroup_memory_limit(cgroup_root, proc_self_cgroup)
    available, total = int(vm.available), int(vm.total)
    if memory_limit is not None and memory_limit[0] < available:
        figure, figure_source = memory_limit[0], memory_limit[1]
    else:
        figure, figure_source = available, f"psutil available {format_bytes(available)}"
    # Shares of the machine are of what it has, not of what happens to be free right now.
    machine_bytes = min(total, memory_limit[0]) if memory_limit is not None else total

    if reserve_value is None:
        kept = max(RESERVE_FLOOR, int(figure * RESERVE_SHARE))
        reserve_source = (
            f"{format_bytes(kept)}, the larger of 256M and 5% of {format_bytes(figure)}"
        )
    else:
        kept = _parse_reserve(reserve_value, reserve_what, figure, machine_bytes)
        reserve_source = _described(
            reserve_what, reserve_value, format_bytes(kept), format_bytes(figure)
        )

    if memory_value is None:
        # A fixed 256M reserve could eat a small container whole; keeping half lets work start.
        usable = max(figure - kept, figure // 2)
        memory_source = f"{figure_source}, less reserve {format_bytes(kept)}"
    else:
        # A figure the user gave is what they want used; the reserve still holds back new starts.
        usable = parse_memory(memory_value, memory_what, machine_bytes)
        if usable < MEMORY_FLOOR:
            bare = " (a bare number is bytes: write 1G for a gigabyte)"
            raise UsageError(
                f"{memory_what}: {memory_value} is {format_bytes(usable)}, less than the"
                f" {format_bytes(MEMORY_FLOOR)} the scheduler needs at least"
                + (bare if str(memory_value).strip().isdigit() else "")
            )
        if usable > machine_bytes:
            clamped.append(
                f"{memory_what}={memory_value}: this machine has"
                f" {format_bytes(machine_bytes)}; using {format_bytes(machine_bytes)}"
            )
            usable = machine_bytes
        memory_source = _described(
            memory_what, memory_value, format_bytes(usable), format_bytes(machine_bytes)
        )
    sources = {"cpus": cpus_source, "memory": memory_source, "reserve": reserve_source}
    return Capacity(
        cpus=found_cpus, memory=usable, reserve=kept, sources=sources, clamped=tuple(clamped)
    )


def available_memory() -> int:
    """Bytes free now: the monitor starts nothing new while this is below the reserve."""
    return int(psutil.virtual_memory().available)


def affinity_cpus() -> int:
    """The CPUs this process may run on."""
    # sched_getaffinity is Linux-only; elsewhere every CPU is the best guess.
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def parse_cpus(value: str | float | int, what: str, machine_cpus: float) -> float:
    """Cores from 2, 1.5, "2", "1.5" or a share of the machine's cores like "50%"."""
    if isinstance(value, bool):
        raise UsageError(f"{what}: expected a number of cores or a share like '50%', got {value!r}")
    if isinstance(value, str) and value.strip().endswith("%"):
        return machine_cpus * _percent(value, what) / 100
    try:
        cores = float(value)
    except ValueError:
        raise UsageError(
            f"{what}: expected a number of cores or a share like '50%', got {value!r}"
        ) from None
    if not math.isfinite(cores) or cores <= 0:
        raise UsageError(f"{what}: must be more than 0 cores, got {value!r}")
    return cores


def parse_memory(value: str | float | int, what: str, machine_bytes: int) -> int:
    """Bytes from 6442450944, "6G", "512M", "1.5GiB" or a share of the machine like "67%"."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return int(machine_bytes * _percent(value, what) / 100)
    size = parse_bytes(value, what)
    if size < 1:  # parse_bytes truncates, so "0.1" would otherwise pass as 0
        raise UsageError(f"{what}: must be at least 1 byte, got {value!r}")
    return size


def cgroup_cpu_limit(cgroup_root: Path, proc_self_cgroup: Path) -> tuple[float, str] | None:
    """The tightest CPU quota of this process's cgroups (v1 and v2), or None if unlimited."""
    found: list[tuple[float, str]] = []
    for directory, rel in _v2_dirs(cgroup_root, proc_self_cgroup):
        text = _read(directory / "cpu.max")
        if text is None:
            continue
        words = text.split()
        if len(words) == 2 and words[0] != "max":
            cpus = _quota(words[0], words[1])
            if cpus is not None:
                found.append((cpus, f"cgroup v2 {rel}cpu.max {words[0]} {words[1]} -> {cpus:g}"))
    for directory, rel in _v1_dirs(cgroup_root, proc_self_cgroup, "cpu"):
        quota = _read(directory / "cpu.cfs_quota_us")
        period = _read(directory / "cpu.cfs_period_us")
        if quota is None or period is None:
            continue
        cpus = _quota(quota, period)
        if cpus is not None:
            how = f"{rel}cpu.cfs_quota_us {quota} / cpu.cfs_period_us {period} -> {cpus:g}"
            found.append((cpus, f"cgroup v1 {how}"))
    return min(found, key=lambda pair: pair[0]) if found else None


def cgroup_memory_limit(cgroup_root: Path, proc_self_cgroup: Path) -> tuple[int, str] | None:
    """The tightest memory limit of this process's cgroups (v1 and v2), or None if unlimited."""
    found: list[tuple[int, str]] = []
    for directory, rel in _v2_dirs(cgroup_root, proc_self_cgroup):
        limit = _limit(_read(directory / "memory.max"))
        if limit is not None:
            found.append((limit, f"cgroup v2 {rel}memory.max {format_bytes(limit)}"))
    for directory, rel in _v1_dirs(cgroup_root, proc_self_cgroup, "memory"):
        limit = _limit(_read(directory / "memory.limit_in_bytes"))
        if limit is not None:
            found.append((limit, f"cgroup v1 {rel}memory.limit_in_bytes {format_bytes(limit)}"))
    return min(found, key=lambda pair: pair[0]) if found else None


def _override(
    env: Mapping[str, str], name: str, key: str, configured: str | float | int | None
) -> tuple[str | float | int | None, str]:
    # An empty variable is how a shell unsets for one command (`GOTASKS_CPUS= inv ci`).
    from_env = env.get(name, "").strip()
    if from_env:
        return from_env, name
    return configured, key


def _parse_reserve(value: str | float | int, what: str, figure: int, machine_bytes: int) -> int:
    # Unlike a quota, a reserve of nothing is a real choice: never hold back for free memory.
    if not isinstance(value, bool) and str(value).strip() == "0":
        return 0
    kept = parse_memory(value, what, figure)
    # Nothing new starts while free memory is under the reserve: a reserve of all of it
    # would run every task alone, one after another.
    share = isinstance(value, str) and value.strip().endswith("%")
    if (share and kept >= figure) or kept >= machine_bytes:
        of = format_bytes(figure if share else machine_bytes)
        raise UsageError(
            f"{what}: {value} would hold back all the memory ({of}), so tasks would only run"
            " one at a time; give less (0: no reserve)"
        )
    return kept


def _percent(value: str, what: str) -> float:
    try:
        share = float(value.strip()[:-1])
    except ValueError:
        raise UsageError(f"{what}: expected a share like '67%', got {value!r}") from None
    if not 0 < share <= 100:
        raise UsageError(f"{what}: a share must be more than 0% and at most 100%, got {value!r}")
    return share


def _described(what: str, value: object, result: str, machine: str) -> str:
    if isinstance(value, str) and value.strip().endswith("%"):
        return f"{what}={value.strip()} of {machine} -> {result}"
    return f"{what}={value}" if str(value) == result else f"{what}={value} -> {result}"


def _quota(quota: str, period: str) -> float | None:
    # -1 (v1) means unlimited; zero or nonsense is no limit we can honour, so none.
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:
        return None
    return q / p


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        limit = int(text)
    except ValueError:
        return None  # "max" in v2
    return limit if 0 < limit < UNLIMITED_BYTES else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, ValueError):
        return None


def _memberships(proc_self_cgroup: Path) -> Iterator[tuple[str, list[str], str]]:
    """(hierarchy id, controllers, path) per line of /proc/self/cgroup."""
    text = _read(proc_self_cgroup)
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            yield parts[0], [c for c in parts[1].split(",") if c], parts[2]


def _walk_up(mount: Path, cgroup_path: str) -> Iterator[tuple[Path, str]]:
    """The cgroup's folder and each parent up to the mount root: a parent's limit applies too.

    In a container the path may name the host's view (/docker/abc) while the container's own
    cgroup is mounted at the root, so the walk ending at the mount root finds it either way.
    """
    parts = [p for p in PurePosixPath(cgroup_path).parts if p != "/"]
    if any(p in (".", "..") for p in parts):
        parts = []  # never read outside the mount
    for depth in range(len(parts), -1, -1):
        rel = "/".join(parts[:depth])
        yield mount.joinpath(*parts[:depth]), f"{rel}/" if rel else ""


def _v2_dirs(cgroup_root: Path, proc_self_cgroup: Path) -> Iterator[tuple[Path, str]]:
    for hierarchy, controllers, path in _memberships(proc_self_cgroup):
        if hierarchy == "0" and not controllers:
            yield from _walk_up(cgroup_root, path)


def _v1_dirs(
    cgroup_root: Path, proc_self_cgroup: Path, controller: str
) -> Iterator[tuple[Path, str]]:
    for hierarchy, controllers, path in _memberships(proc_self_cgroup):
        if hierarchy == "0" or controller not in controllers:
            continue
        # Distributions mount co-mounted controllers as "cpu,cpuacct" with a "cpu" symlink, or
        # only one of them; the first that exists is the hierarchy.
        for name in (",".join(controllers), controller):
            mount = cgroup_root / name
            if mount.is_dir():
                for directory, rel in _walk_up(mount, path):
                    yield directory, f"{name}/{rel}"
                break
