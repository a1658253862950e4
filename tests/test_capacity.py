"""Tests of gotasks.engine.capacity: cgroup v1/v2 limits, size and share parsing, overrides."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from gotasks.core.errors import UsageError
from gotasks.engine import capacity
from gotasks.engine.capacity import (
    Capacity,
    available_memory,
    cgroup_cpu_limit,
    cgroup_memory_limit,
    detect,
    parse_cpus,
    parse_memory,
)

MIB = 1024**2
GIB = 1024**3
# What cgroup v1 writes for "no limit": the largest page-aligned 64-bit value.
V1_UNLIMITED = "9223372036854771712"


class Machine:
    """A fake /sys/fs/cgroup and /proc/self/cgroup under tmp_path."""

    def __init__(self, tmp_path: Path, proc: str = "") -> None:
        self.root = tmp_path / "cgroup"
        self.root.mkdir()
        self.proc = tmp_path / "proc_self_cgroup"
        if proc:
            self.proc.write_text(proc)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    def cpu(self) -> tuple[float, str] | None:
        return cgroup_cpu_limit(self.root, self.proc)

    def memory(self) -> tuple[int, str] | None:
        return cgroup_memory_limit(self.root, self.proc)

    def detect(self, **kwargs: object) -> Capacity:
        kwargs.setdefault("environ", {})
        return detect(cgroup_root=self.root, proc_self_cgroup=self.proc, **kwargs)  # type: ignore[arg-type]


# A Docker container on a cgroup v1 host, as its /proc/self/cgroup reads.
V1_PROC = """\
12:pids:/docker/abc
9:memory:/docker/abc
4:cpu,cpuacct:/docker/abc
3:cpuset:/docker/abc
1:name=systemd:/docker/abc
0::/system.slice/containerd.service
"""


# --- cgroup v2 ---------------------------------------------------------------------------


def test_v2_limits_found(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/user.slice/app.scope\n")
    m.write("user.slice/app.scope/cpu.max", "150000 100000")
    m.write("user.slice/app.scope/memory.max", str(2 * GIB))
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 1.5
    assert cpu[1] == "cgroup v2 user.slice/app.scope/cpu.max 150000 100000 -> 1.5"
    assert m.memory() == (2 * GIB, "cgroup v2 user.slice/app.scope/memory.max 2G")


def test_v2_unlimited(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/app\n")
    m.write("app/cpu.max", "max 100000")
    m.write("app/memory.max", "max")
    assert m.cpu() is None
    assert m.memory() is None


def test_v2_nested_limits_smallest_wins(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/outer/inner\n")
    m.write("outer/cpu.max", "50000 100000")
    m.write("outer/inner/cpu.max", "400000 100000")
    m.write("outer/memory.max", str(8 * GIB))
    m.write("outer/inner/memory.max", str(GIB))
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 0.5
    assert "outer/cpu.max" in cpu[1]
    assert "inner" not in cpu[1]
    memory = m.memory()
    assert memory is not None
    assert memory[0] == GIB
    assert "outer/inner/memory.max" in memory[1]


def test_v2_container_root_path(tmp_path: Path) -> None:
    # With a private cgroup namespace the process sits at "/" and the limits at the mount root.
    m = Machine(tmp_path, "0::/\n")
    m.write("cpu.max", "200000 100000")
    m.write("memory.max", str(512 * MIB))
    assert m.cpu() == (2.0, "cgroup v2 cpu.max 200000 100000 -> 2")
    assert m.memory() == (512 * MIB, "cgroup v2 memory.max 512M")


def test_v2_host_path_but_files_at_mount_root(tmp_path: Path) -> None:
    # The path names the host's view; inside the container only the mount root exists.
    m = Machine(tmp_path, "0::/system.slice/docker-abc.scope\n")
    m.write("cpu.max", "100000 100000")
    m.write("memory.max", str(GIB))
    assert m.cpu() == (1.0, "cgroup v2 cpu.max 100000 100000 -> 1")
    assert m.memory() == (GIB, "cgroup v2 memory.max 1G")


@pytest.mark.parametrize(
    ("cpu_max", "memory_max"),
    [
        ("0 100000", "0"),
        ("-5 100000", "-1"),
        ("150000 0", "lots"),
        ("lots", ""),
        ("150000", "max max"),
    ],
)
def test_v2_unusable_values_are_no_limit(tmp_path: Path, cpu_max: str, memory_max: str) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("cpu.max", cpu_max)
    m.write("memory.max", memory_max)
    assert m.cpu() is None
    assert m.memory() is None


def test_missing_files_are_no_limit(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC.replace("0::/system.slice/containerd.service", "0::/app"))
    (m.root / "app").mkdir()
    (m.root / "memory" / "docker" / "abc").mkdir(parents=True)
    assert m.cpu() is None
    assert m.memory() is None


def test_missing_proc_file_is_no_limit(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.write("cpu.max", "100000 100000")
    assert not m.proc.exists()
    assert m.cpu() is None
    assert m.memory() is None


def test_unreadable_files_are_no_limit(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    (m.root / "cpu.max").mkdir()
    (m.root / "memory.max").write_bytes(b"\xff\xfe\x00")
    assert m.cpu() is None
    assert m.memory() is None


def test_path_escaping_the_mount_reads_only_the_root(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/../outside\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "cpu.max").write_text("100000 100000\n")
    assert m.cpu() is None
    m.write("cpu.max", "300000 100000")
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 3.0


# --- cgroup v1 ---------------------------------------------------------------------------


def test_v1_limits_found(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC)
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")
    m.write("memory/docker/abc/memory.limit_in_bytes", str(GIB))
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 1.5
    assert cpu[1] == (
        "cgroup v1 cpu,cpuacct/docker/abc/cpu.cfs_quota_us 150000 / cpu.cfs_period_us 100000 -> 1.5"
    )
    assert m.memory() == (GIB, "cgroup v1 memory/docker/abc/memory.limit_in_bytes 1G")


def test_v1_cpu_mounted_alone(tmp_path: Path) -> None:
    # Some hosts mount cpu and cpuacct apart, or only a "cpu" symlink is there.
    m = Machine(tmp_path, "2:cpuacct:/\n1:cpu:/\n")
    m.write("cpu/cpu.cfs_quota_us", "250000")
    m.write("cpu/cpu.cfs_period_us", "100000")
    assert m.cpu() == (
        2.5,
        "cgroup v1 cpu/cpu.cfs_quota_us 250000 / cpu.cfs_period_us 100000 -> 2.5",
    )


def test_v1_comounted_line_found_through_cpu_folder(tmp_path: Path) -> None:
    m = Machine(tmp_path, "4:cpu,cpuacct:/job\n")
    m.write("cpu/job/cpu.cfs_quota_us", "50000")
    m.write("cpu/job/cpu.cfs_period_us", "100000")
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 0.5


def test_v1_unlimited(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC)
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")
    m.write("memory/docker/abc/memory.limit_in_bytes", V1_UNLIMITED)
    m.write("memory/memory.limit_in_bytes", str(2**60))
    assert m.cpu() is None
    assert m.memory() is None


def test_v1_nested_limits_smallest_wins(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC)
    m.write("cpu,cpuacct/docker/cpu.cfs_quota_us", "100000")
    m.write("cpu,cpuacct/docker/cpu.cfs_period_us", "100000")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")
    m.write("memory/memory.limit_in_bytes", str(GIB))
    m.write("memory/docker/abc/memory.limit_in_bytes", str(4 * GIB))
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 1.0
    assert m.memory() == (GIB, "cgroup v1 memory/memory.limit_in_bytes 1G")


def test_v1_container_files_at_mount_root(tmp_path: Path) -> None:
    # /proc/self/cgroup names the host's /docker/abc, but the container sees its own cgroup
    # mounted at cgroup_root/memory itself.
    m = Machine(tmp_path, V1_PROC)
    m.write("cpu,cpuacct/cpu.cfs_quota_us", "200000")
    m.write("cpu,cpuacct/cpu.cfs_period_us", "100000")
    m.write("memory/memory.limit_in_bytes", str(768 * MIB))
    assert m.cpu() is not None
    assert m.memory() == (768 * MIB, "cgroup v1 memory/memory.limit_in_bytes 768M")


def test_v1_quota_without_period_is_no_limit(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC)
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "0")
    m.write("cpu,cpuacct/cpu.cfs_quota_us", "0")
    m.write("cpu,cpuacct/cpu.cfs_period_us", "100000")
    m.write("memory/docker/abc/memory.limit_in_bytes", "lots")
    assert m.cpu() is None
    assert m.memory() is None


def test_hybrid_v1_and_v2_smallest_wins(tmp_path: Path) -> None:
    m = Machine(tmp_path, V1_PROC.replace("0::/system.slice/containerd.service", "0::/"))
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000")
    m.write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")
    m.write("cpu.max", "120000 100000")
    m.write("memory/docker/abc/memory.limit_in_bytes", str(GIB))
    m.write("memory.max", str(2 * GIB))
    cpu = m.cpu()
    assert cpu is not None
    assert cpu[0] == 1.2
    assert cpu[1].startswith("cgroup v2")
    memory = m.memory()
    assert memory is not None
    assert memory[0] == GIB
    assert memory[1].startswith("cgroup v1")


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2, 2.0), (1.5, 1.5), ("2", 2.0), (" 1.5 ", 1.5), ("50%", 4.0), ("100%", 8.0), ("12.5%", 1.0)],
)
def test_parse_cpus(value: str | float, expected: float) -> None:
    assert parse_cpus(value, "scheduler.cpus", 8.0) == expected


@pytest.mark.parametrize(
    "value", ["lots", "", 0, -1, "0", "-2", "nan", "inf", "0%", "101%", "-5%", "lots%", "%", True]
)
def test_parse_cpus_rejects(value: str | float) -> None:
    with pytest.raises(UsageError) as err:
        parse_cpus(value, "GOTASKS_CPUS", 8.0)
    message = str(err.value)
    assert message.startswith("GOTASKS_CPUS: ")
    assert "\n" not in message
    assert repr(value) in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6442450944, 6 * GIB),
        ("6G", 6 * GIB),
        ("512M", 512 * MIB),
        ("1.5GiB", GIB + 512 * MIB),
        ("2gb", 2 * GIB),
        ("1024K", MIB),
        ("4096", 4096),
        ("50%", 5 * GIB),
        ("100%", 10 * GIB),
        ("67%", int(10 * GIB * 0.67)),
    ],
)
def test_parse_memory(value: str | int, expected: int) -> None:
    assert parse_memory(value, "scheduler.memory", 10 * GIB) == expected


@pytest.mark.parametrize(
    "value", ["lots", "", 0, -1, "0", "-1G", "0.1", "6X", "0%", "150%", "-5%", "lots%", True]
)
def test_parse_memory_rejects(value: str | int) -> None:
    with pytest.raises(UsageError) as err:
        parse_memory(value, "scheduler.memory", 10 * GIB)
    message = str(err.value)
    assert message.startswith("scheduler.memory: ")
    assert "\n" not in message
    assert err.value.exit_code == 2


# --- detect ------------------------------------------------------------------------------


@pytest.fixture
def ram(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with 8 CPUs and 32G of RAM of which 20G is free, whatever this one has."""
    fake = SimpleNamespace(total=32 * GIB, available=20 * GIB)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: fake)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)


def test_detect_cpus_from_cgroup(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("cpu.max", "50000 100000")  # below any machine's affinity
    cap = m.detect()
    assert cap.cpus == 0.5
    assert cap.sources["cpus"].startswith("cgroup v2 cpu.max 50000 100000 -> 0.5")


def test_detect_cpus_from_affinity_when_no_quota(tmp_path: Path) -> None:
    cap = Machine(tmp_path).detect()
    assert cap.cpus == capacity.affinity_cpus()
    assert cap.sources["cpus"] == f"CPU affinity {capacity.affinity_cpus()}"


def test_detect_quota_above_affinity_is_not_used(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("cpu.max", "100000000 100000")  # 1000 CPUs
    cap = m.detect()
    assert cap.cpus == capacity.affinity_cpus()
    assert "allows more" in cap.sources["cpus"]


@pytest.mark.usefixtures("ram")
def test_detect_memory_and_default_reserve(tmp_path: Path) -> None:
    cap = Machine(tmp_path).detect()
    assert cap.reserve == GIB  # 5% of 20G, above the 256M floor
    assert cap.memory == 19 * GIB
    assert cap.sources["memory"] == "psutil available 20G, less reserve 1G"
    assert cap.sources["reserve"] == "1G, the larger of 256M and 5% of 20G"


@pytest.mark.usefixtures("ram")
def test_detect_memory_from_cgroup_with_reserve_floor(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("memory.max", str(2 * GIB))
    cap = m.detect()
    assert cap.reserve == 256 * MIB  # 5% of 2G is less than the floor
    assert cap.memory == 2 * GIB - 256 * MIB
    assert cap.sources["memory"] == "cgroup v2 memory.max 2G, less reserve 256M"


@pytest.mark.usefixtures("ram")
def test_detect_small_container_keeps_half(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("memory.max", str(300 * MIB))
    cap = m.detect()
    assert cap.reserve == 256 * MIB
    assert cap.memory == 150 * MIB


@pytest.mark.usefixtures("ram")
def test_detect_cgroup_above_available_uses_available(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("memory.max", str(24 * GIB))
    cap = m.detect()
    assert cap.memory == 19 * GIB
    assert cap.sources["memory"].startswith("psutil available 20G")


@pytest.mark.usefixtures("ram")
def test_detect_overrides_from_arguments(tmp_path: Path) -> None:
    cap = Machine(tmp_path).detect(cpus="1.5", memory="6G", reserve="512M")
    assert cap == Capacity(
        cpus=1.5,
        memory=6 * GIB,
        reserve=512 * MIB,
        sources={
            "cpus": "scheduler.cpus=1.5",
            "memory": "scheduler.memory=6G",
            "reserve": "scheduler.reserve=512M",
        },
    )


@pytest.mark.usefixtures("ram")
def test_detect_environment_beats_config(tmp_path: Path) -> None:
    environ = {"GOTASKS_CPUS": "3", "GOTASKS_MEMORY": "4G", "GOTASKS_RESERVE": "1G"}
    cap = Machine(tmp_path).detect(cpus=1, memory="6G", reserve="512M", environ=environ)
    assert (cap.cpus, cap.memory, cap.reserve) == (3.0, 4 * GIB, GIB)
    assert cap.sources["cpus"] == "GOTASKS_CPUS=3"
    assert cap.sources["memory"] == "GOTASKS_MEMORY=4G"
    assert cap.sources["reserve"] == "GOTASKS_RESERVE=1G"


@pytest.mark.usefixtures("ram")
def test_detect_empty_environment_variable_is_unset(tmp_path: Path) -> None:
    cap = Machine(tmp_path).detect(cpus=2, environ={"GOTASKS_CPUS": " "})
    assert cap.cpus == 2.0
    assert cap.sources["cpus"] == "scheduler.cpus=2"


@pytest.mark.usefixtures("ram")
def test_detect_percent_of_the_machine(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("cpu.max", "100000 100000")
    m.write("memory.max", str(8 * GIB))
    cap = m.detect(cpus="50%", memory="50%")
    assert cap.cpus == 0.5
    assert cap.memory == 4 * GIB  # of the cgroup's 8G, not of the machine's 32G
    assert cap.sources["memory"] == "scheduler.memory=50% of 8G -> 4G"


@pytest.mark.usefixtures("ram")
def test_detect_percent_of_total_not_available(tmp_path: Path) -> None:
    cap = Machine(tmp_path).detect(memory="67%", environ={"GOTASKS_RESERVE": "10%"})
    assert cap.memory == int(32 * GIB * 0.67)
    assert cap.reserve == 2 * GIB  # 10% of the 20G available


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize("zero", [0, "0"])
def test_detect_reserve_may_be_zero(tmp_path: Path, zero: str | int) -> None:
    cap = Machine(tmp_path).detect(reserve=zero)
    assert cap.reserve == 0
    assert cap.memory == 20 * GIB


@pytest.mark.parametrize(
    ("kwargs", "environ", "what"),
    [
        ({"cpus": 0}, {}, "scheduler.cpus"),
        ({"cpus": "-1"}, {}, "scheduler.cpus"),
        ({}, {"GOTASKS_CPUS": "lots"}, "GOTASKS_CPUS"),
        ({"memory": "lots"}, {}, "scheduler.memory"),
        ({}, {"GOTASKS_MEMORY": "0"}, "GOTASKS_MEMORY"),
        ({}, {"GOTASKS_MEMORY": "120%"}, "GOTASKS_MEMORY"),
        ({"reserve": "-1G"}, {}, "scheduler.reserve"),
        ({"cpus": 2}, {"GOTASKS_CPUS": "0%"}, "GOTASKS_CPUS"),
    ],
)
def test_detect_bad_values_are_one_line_usage_errors(
    tmp_path: Path, kwargs: dict[str, object], environ: dict[str, str], what: str
) -> None:
    with pytest.raises(UsageError) as err:
        Machine(tmp_path).detect(environ=environ, **kwargs)
    assert str(err.value).startswith(f"{what}: ")
    assert "\n" not in str(err.value)


def test_detect_on_this_machine() -> None:
    cap = detect(environ={})
    assert 0 < cap.cpus <= (os.cpu_count() or 1)
    assert 0 < cap.memory < psutil.virtual_memory().total
    assert cap.reserve >= 256 * MIB
    assert set(cap.sources) == {"cpus", "memory", "reserve"}
    assert 0 < available_memory() <= psutil.virtual_memory().total


# -- values beyond what the machine could have ---------------------------------------------


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize("asked", ["9", "1e99", "8.5", 64, 1e99])
def test_more_cpus_than_the_machine_has_are_clamped_and_said(
    tmp_path: Path, asked: str | float
) -> None:
    m = Machine(tmp_path)
    for cap, what in (
        (m.detect(environ={"GOTASKS_CPUS": str(asked)}), "GOTASKS_CPUS"),
        (m.detect(cpus=asked), "scheduler.cpus"),
    ):
        assert cap.cpus == 8.0
        assert cap.clamped == (f"{what}={asked}: this machine has 8 CPUs; using 8",)


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize("asked", ["8", "0.5", "100%"])
def test_cpus_within_the_machine_are_not_clamped(tmp_path: Path, asked: str) -> None:
    cap = Machine(tmp_path).detect(environ={"GOTASKS_CPUS": asked})
    assert cap.clamped == ()
    assert cap.cpus <= 8.0


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize("asked", ["33G", "1T", str(2**70)])
def test_more_memory_than_the_machine_has_is_clamped_and_said(tmp_path: Path, asked: str) -> None:
    cap = Machine(tmp_path).detect(environ={"GOTASKS_MEMORY": asked})
    assert cap.memory == 32 * GIB
    assert cap.clamped == (f"GOTASKS_MEMORY={asked}: this machine has 32G; using 32G",)
    # Inside a container, its limit is the machine.
    (tmp_path / "container").mkdir()
    m = Machine(tmp_path / "container", "0::/\n")
    m.write("memory.max", str(2 * GIB))
    assert m.detect(environ={"GOTASKS_MEMORY": asked}).memory == 2 * GIB


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize(
    ("asked", "bare"), [("1", True), (1, True), ("65535", True), ("63M", False), ("0.001G", False)]
)
def test_memory_below_what_a_compile_needs_is_refused(
    tmp_path: Path, asked: str | int, bare: bool
) -> None:
    m = Machine(tmp_path)
    for kwargs, environ, what in (
        ({}, {"GOTASKS_MEMORY": str(asked)}, "GOTASKS_MEMORY"),
        ({"memory": asked}, {}, "scheduler.memory"),
    ):
        with pytest.raises(UsageError) as err:
            m.detect(environ=environ, **kwargs)
        message = str(err.value)
        assert message.startswith(f"{what}: {asked} is ") and "at least" in message
        assert ("write 1G" in message) == bare
        assert "\n" not in message


@pytest.mark.usefixtures("ram")
def test_memory_share_of_a_tiny_container_is_refused(tmp_path: Path) -> None:
    m = Machine(tmp_path, "0::/\n")
    m.write("memory.max", str(512 * MIB))
    with pytest.raises(UsageError, match=r"^GOTASKS_MEMORY: 1% is 5.1M, less than the 64M"):
        m.detect(environ={"GOTASKS_MEMORY": "1%"})


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize("asked", ["100%", "32G", "40G", "1T", str(32 * GIB)])
def test_a_reserve_of_all_the_memory_is_refused(tmp_path: Path, asked: str) -> None:
    m = Machine(tmp_path)
    for kwargs, environ, what in (
        ({}, {"GOTASKS_RESERVE": asked}, "GOTASKS_RESERVE"),
        ({"reserve": asked}, {}, "scheduler.reserve"),
    ):
        with pytest.raises(UsageError) as err:
            m.detect(environ=environ, **kwargs)
        message = str(err.value)
        assert message.startswith(f"{what}: {asked} would hold back all the memory ("), message
        assert "one at a time" in message and "\n" not in message


@pytest.mark.usefixtures("ram")
@pytest.mark.parametrize(("asked", "kept"), [("99%", int(20 * GIB * 0.99)), ("31G", 31 * GIB)])
def test_a_reserve_below_all_the_memory_is_taken(tmp_path: Path, asked: str, kept: int) -> None:
    assert Machine(tmp_path).detect(environ={"GOTASKS_RESERVE": asked}).reserve == kept
