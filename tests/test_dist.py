"""dist/ under kills, without go: owner records of real processes, and the journaled swap
killed (SIGKILL, in a real process) after each of its steps and of its recovery's."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from helpers import sums_check

from gotasks.core import owners
from gotasks.core.errors import UsageError
from gotasks.go import dist as dist_folder

# --- owner records


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def owner_of(pid: int) -> owners.Owner:
    return owners.Owner(pid, round(psutil.Process(pid).create_time(), 2), owners.me().host)


def ended_owner() -> owners.Owner:
    """The owner record of a real process that has since ended (and was reaped)."""
    process = subprocess.Popen(["sleep", "600"])
    owner = owner_of(process.pid)
    process.kill()
    process.wait()
    return owner


def test_this_process_is_a_live_owner() -> None:
    me = owners.me()
    assert me.pid == os.getpid()
    assert owners.parse(me.record) == me
    assert not me.is_gone()


def test_a_running_process_is_a_live_owner(sleeper: subprocess.Popen[bytes]) -> None:
    assert not owner_of(sleeper.pid).is_gone()


def test_an_ended_process_is_gone() -> None:
    assert ended_owner().is_gone()


def test_a_reused_pid_is_not_its_former_owner(sleeper: subprocess.Popen[bytes]) -> None:
    # The pid runs, but it started later than the record says: another process now has it.
    live = owner_of(sleeper.pid)
    earlier = owners.Owner(live.pid, live.started - 30, live.host)
    assert earlier.is_gone()
    # Read a second apart, the kernel's boot time (and so a start time) may differ a little.
    assert not owners.Owner(live.pid, live.started + 0.5, live.host).is_gone()


def test_a_zombie_is_gone() -> None:
    process = subprocess.Popen(["true"])  # not waited for: it stays a zombie
    try:
        owner = owner_of(process.pid)
        deadline = time.monotonic() + 60
        while psutil.Process(process.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "`true` did not end"
            time.sleep(0.01)
        assert owner.is_gone()
    finally:
        process.wait()


def test_an_owner_on_another_host_is_never_taken_for_gone() -> None:
    dead = ended_owner()
    assert not owners.Owner(dead.pid, dead.started, dead.host + "x").is_gone()


@pytest.mark.parametrize(
    "record", ["", "killed", "12-abc-host", "12-1.5-host", "-1764526561.23-host", "1-2.00-a b"]
)
def test_what_is_not_an_owner_record(record: str) -> None:
    assert owners.parse(record) is None


# --- scratch folders


def test_scratch_folders_of_ended_owners_are_removed_and_no_others(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    dist = tmp_path / "dist"
    live = owner_of(sleeper.pid)

    def scratch(record: str) -> Path:
        path = dist / f"{dist_folder.SCRATCH_PREFIX}{record}-0badcafe"
        (path / "out" / "hello_linux_amd64").mkdir(parents=True)
        (path / "out" / "hello_linux_amd64" / "hello").write_bytes(b"x" * 3000)
        return path

    dead = scratch(ended_owner().record)
    reused = scratch(owners.Owner(live.pid, live.started - 30, live.host).record)
    running = scratch(live.record)
    remote = scratch(owners.Owner(live.pid, live.started - 30, "elsewhere").record)
    fresh_unowned = scratch("killed")  # made by a gotasks before owner records
    old_unowned = scratch("abcd1234")
    two_hours_ago = time.time() - 7200
    os.utime(old_unowned, (two_hours_ago, two_hours_ago))

    with dist_folder.scratch(dist) as mine:
        said = dist_folder.tidy(dist)
        assert mine.is_dir()
    assert not mine.exists()

    assert {p.name for p in dist.iterdir()} == {
        running.name,
        remote.name,
        fresh_unowned.name,
    }
    assert len(said) == 1 and "removed 3 scratch folder(s) of killed builds (9.0 KB)" in said[0]
    for gone in (dead, reused, old_unowned):
        assert gone.name in said[0]


# --- the swap, killed after every step


def build_or_tidy(dist: Path, label: str, targets: tuple[str, ...]) -> list[str]:
    """What gotasks/build.py does around a build (tidy under the lock, build into a scratch
    folder, swap it in), with fake target folders; or (label "tidy") only the tidying."""
    said = dist_folder.tidy(dist)
    if label != "tidy":
        with dist_folder.scratch(dist) as scratch:
            for target in targets:
                (scratch / "out" / target).mkdir(parents=True)
                for name in ("tool", "helper"):
                    (scratch / "out" / target / name).write_text(f"{label} {target} {name}")
            dist_folder.swap_in(scratch / "out", dist)
    return said


def drive(dist: Path, label: str, *targets: str, kill_after: int | None = None) -> str:
    """build_or_tidy in a process of its own (forked: no second start-up of Python), which
    the kill hook SIGKILLs after its step `kill_after`; "killed", or the lines it said."""
    said = dist.parent / "said.txt"
    said.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.environ.pop(dist_folder.KILL_HOOK, None)
            if kill_after is not None:
                os.environ[dist_folder.KILL_HOOK] = str(kill_after)
            dist_folder._steps_taken = 0  # counted from this process's start, as in inv
            said.write_text("".join(f"{line}\n" for line in build_or_tidy(dist, label, targets)))
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return "killed"
    assert os.waitstatus_to_exitcode(status) == 0, "the child failed (its traceback is above)"
    return said.read_text()


def snapshot(dist: Path) -> dict[str, str]:
    return {str(p.relative_to(dist)): p.read_text() for p in sorted(dist.rglob("*")) if p.is_file()}


def assert_whole(dist: Path, old: dict[str, str], new: dict[str, str]) -> str:
    """dist/ holds the whole old build or the whole new one, nothing else; which one."""
    now = snapshot(dist)
    assert now in (old, new), f"neither the old build nor the new one: {sorted(now)}"
    assert not [p.name for p in dist.iterdir() if p.name.startswith(".")]
    sums_check(dist)
    return "new" if now == new else "old"


@pytest.fixture
def builds(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """An old build (a, b and z, another module's) saved aside, and what a new build (a, b
    and c: one target more, z untouched) makes of it; the old one is put back each time."""
    saved = tmp_path / "old"
    assert "killed" not in drive(saved, "old", "a", "b", "z")
    old = snapshot(saved)
    dist = tmp_path / "dist"
    shutil.copytree(saved, dist)
    assert drive(dist, "new", "a", "b", "c") == ""
    new = snapshot(dist)
    assert new != old and new["z/tool"] == old["z/tool"] == "old z tool"
    sums_check(dist)
    return saved, old, new


def fresh(saved: Path, dist: Path) -> Path:
    shutil.rmtree(dist, ignore_errors=True)
    shutil.copytree(saved, dist)
    return dist


def test_a_swap_killed_after_any_step_is_finished_or_undone_by_the_next_run(
    tmp_path: Path, builds: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    saved, old, new = builds
    dist = tmp_path / "dist"
    outcomes = []
    for step in range(1, 100):
        fresh(saved, dist)
        if drive(dist, "new", "a", "b", "c", kill_after=step) != "killed":
            break
        pending = (dist / dist_folder.JOURNAL).exists()
        if not pending:
            # Nothing to recover: then it must already be whole (only a scratch may remain).
            assert {k: v for k, v in snapshot(dist).items() if not k.startswith(".")} in (
                old,
                new,
            )
        said = drive(dist, "tidy")
        outcome = assert_whole(dist, old, new)
        outcomes.append(outcome)
        if pending:
            word = {"new": "finished the swap", "old": "undid the swap"}[outcome]
            assert word in said.splitlines()[0], said
        assert "scratch folder(s) of killed builds" in said.splitlines()[-1], said
    # journal, (aside + in) for a and b, in for c, SHA256SUMS, two set-aside removed, journal
    assert step == 1 + 2 * 2 + 1 + 1 + 2 + 1 + 1, f"{step - 1} steps"
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert set(outcomes) == {"old", "new"}


def test_a_recovery_killed_after_any_step_is_finished_by_the_next(
    tmp_path: Path, builds: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    saved, old, new = builds
    dist = tmp_path / "dist"
    # Killed with a and b in and c not yet (to be undone), and after c too (to be finished).
    for swap_step in (5, 7):
        for step in range(1, 100):
            fresh(saved, dist)
            assert drive(dist, "new", "a", "b", "c", kill_after=swap_step) == "killed"
            if drive(dist, "tidy", kill_after=step) != "killed":
                break
            pending = (dist / dist_folder.JOURNAL).exists()
            said = drive(dist, "tidy")
            outcome = assert_whole(dist, old, new)
            assert outcome == ("old" if swap_step == 5 else "new")
            assert ("the swap" in said) == pending, said
        assert step > 3, f"recovery after swap step {swap_step} took {step - 1} steps"


def test_a_swap_that_fails_puts_the_old_build_back(
    tmp_path: Path, builds: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    saved, old, _ = builds
    dist = fresh(saved, tmp_path / "dist")
    # b cannot be set aside: a folder is in the way under the name it would take.
    (dist / ".old-b" / "keep").mkdir(parents=True)
    with dist_folder.scratch(dist) as scratch:
        for target in ("a", "b", "c"):
            (scratch / "out" / target).mkdir(parents=True)
            (scratch / "out" / target / "tool").write_text("new")
        with pytest.raises(OSError):
            dist_folder.swap_in(scratch / "out", dist)
    assert snapshot(dist) == old
    assert sorted(p.name for p in dist.iterdir() if p.name.startswith(".")) == [".old-b"]


def test_a_target_set_aside_by_a_gotasks_without_the_journal_is_put_back(
    tmp_path: Path, builds: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    saved, old, _ = builds
    dist = fresh(saved, tmp_path / "dist")
    (dist / "a").rename(dist / ".old-a")  # killed between its two renames
    shutil.copytree(dist / "b", dist / ".old-b")  # killed before removing the old b
    (dist / ".SHA256SUMS.4242.deadbeef.tmp").write_text("half")  # killed while writing
    said = dist_folder.tidy(dist)
    assert said == ["dist: put back a and removed .old-b, left by a killed build's swap"]
    assert snapshot(dist) == old
    assert not [p.name for p in dist.iterdir() if p.name.startswith(".")]
    sums_check(dist)


def test_a_journal_spoiled_by_hand_is_a_one_line_usage_error(
    tmp_path: Path, builds: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    saved, old, _ = builds
    dist = fresh(saved, tmp_path / "dist")
    (dist / dist_folder.JOURNAL).write_text('{"source": ".build-x/out"}\n')
    with pytest.raises(UsageError) as raised:
        dist_folder.tidy(dist)
    assert str(dist / dist_folder.JOURNAL) in str(raised.value)
    assert "\n" not in str(raised.value)
    assert snapshot(dist) == {**old, dist_folder.JOURNAL: '{"source": ".build-x/out"}\n'}
