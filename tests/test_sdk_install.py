"""`inv sdk.install` / `sdk.list` / `sdk.remove` run as a user runs them (the real `inv` in a
subprocess), against a go.dev/dl stand-in on 127.0.0.1: every stage, the cache, and every
failure undone so that the SDK root is exactly as it was before."""

from __future__ import annotations

import hashlib
import os
import random
import re
import resource
import signal
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import Project, clean_env, require_go
from sdkserver import ExtraMember, ReleaseServer, make_go_archive

from gotasks.go.sdk.gnutar import gnu_tar
from gotasks.go.sdk.platform import detect

HOST = detect()
STAGES = ["resolve", "download", "verify", "extract", "smoke-test", "activate"]
STAGE_LINE = re.compile(r"^\s+(\S+)\s+\d+ ms\b")
MARKER = ".gotasks-sdk.json"
MB = 1_000_000

Snapshot = dict[str, tuple[int, str]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under the SDK root except .locks/ (lock files may come and stay): its mode
    and its content (a file's SHA-256, a link's target, "" for a directory)."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d != ".locks"]
        for name in dirs + files:
            path = here / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                content = "-> " + os.readlink(path)
            else:
                content = ""
            found[str(path.relative_to(root))] = (info.st_mode, content)
    return found


def leftovers(root: Path) -> list[str]:
    """Download parts and temporary or moved-aside folders, anywhere under the root."""
    return sorted(
        str(rel)
        for rel in (Path(k) for k in snapshot(root))
        if rel.name.endswith(".part") or rel.name.startswith((".tmp-", ".old-"))
    )


def padding(size: int, *, random_bytes: bool = True) -> list[ExtraMember]:
    """One big member under go/: incompressible (a big archive) or zeros (a small one)."""
    info = tarfile.TarInfo("go/pad.bin")
    info.size, info.mode, info.mtime = size, 0o644, 1_704_067_200
    data = random.Random(size).randbytes(size) if random_bytes else bytes(size)
    return [(info, data)]


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> ExtraMember:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = kind, linkname, 0o644, 1_704_067_200
    data = b"evil\n" if kind == tarfile.REGTYPE else None
    info.size = len(data) if data is not None else 0
    return (info, data)


@dataclass
class World:
    """A gotasks project, a release server and an SDK root the project's `inv` installs into."""

    project: Project
    server: ReleaseServer
    root: Path
    tmp: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "GOTASKS_SDK_ROOT": str(self.root),
            "GOTASKS_SDK_MIRROR": self.server.base,
            "GOPROXY": "off",  # the second source fails fast and never goes online
        }

    def inv(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.project.inv(*args, env={**self.env, **env})

    def popen(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.project.root,
            env=clean_env(**{**self.env, **env}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def log(self) -> str:
        path = self.project.root / ".gotasks" / "sdk-install.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    def serve(self, version: str, variant: str = "good", *, stable: bool = True, **kw: Any) -> Path:
        """Build go{version}'s archive (kw: make_go_archive's reported=, extra=) and list it;
        a variant replaces what the server had under the same file name."""
        archive = make_go_archive(
            self.tmp / "archives" / variant, version, HOST.goos, HOST.goarch, **kw
        )
        self.server.add(archive, version, HOST.goos, HOST.goarch, stable=stable)
        return archive

    def install_previous(self) -> Snapshot:
        """Go 1.21.3 installed (and cached) before the scenario: what a failure must not touch."""
        result = self.inv("sdk.install", "1.21.3")
        assert result.returncode == 0, result.stdout + result.stderr
        before = snapshot(self.root)
        assert "1.21.3/" + MARKER in before
        return before


@pytest.fixture
def world(make_project: Callable[..., Project], tmp_path: Path) -> Iterator[World]:
    require_go()
    if HOST.goos == "windows":
        pytest.skip("the fake SDK's bin/go is a shell script")
    project = make_project(example=False, git=False)
    with ReleaseServer() as server:
        w = World(project, server, tmp_path / "sdk", tmp_path)
        for version in ("1.21.3", "1.22.4", "1.22.5"):
            w.serve(version)
        yield w
    assert server.errors == []


def archive_name(version: str) -> str:
    return f"go{version}.{HOST.goos}-{HOST.goarch}.tar.gz"


def stages(stdout: str) -> list[str]:
    return [m.group(1) for line in stdout.splitlines() if (m := STAGE_LINE.match(line))]


def assert_failed(
    w: World,
    result: subprocess.CompletedProcess[str],
    code: int,
    before: Snapshot,
    *says: str,
    logged: str | None = None,
) -> str:
    """Exit `code`, one line on stderr saying each of `says`, no traceback, the root exactly as
    it was, nothing half-done left, and the error in the install log (that line, or `logged`).
    The line, returned."""
    shown = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == code, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), shown
    for text in says:
        assert text in lines[0], shown
    assert snapshot(w.root) == before
    assert leftovers(w.root) == []
    assert f"  error: {logged or lines[0].strip()}\n" in w.log, w.log
    return lines[0]


# -- installing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["1.22.5", "go1.22.5"])
def test_install_runs_every_stage_and_the_sdk_works(world: World, asked: str) -> None:
    result = world.inv("sdk.install", asked)

    assert result.returncode == 0, result.stdout + result.stderr
    assert stages(result.stdout) == STAGES, result.stdout
    assert result.stderr == ""
    sdk = world.root / "1.22.5"
    go = subprocess.run(
        [str(sdk / "bin" / "go"), "version"], capture_output=True, text=True, check=True
    )
    assert go.stdout.split()[:3] == ["go", "version", "go1.22.5"]
    assert (sdk / MARKER).is_file()
    assert sorted(p.name for p in world.cache.iterdir()) == [
        archive_name("1.22.5"),
        archive_name("1.22.5") + ".json",
    ]
    assert leftovers(world.root) == []
    assert stages(world.log) == STAGES  # the log has the same lines
    assert f"install {asked} for {HOST}" in world.log

    listed = world.inv("sdk.list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^\s+go1\.22\.5\s+{re.escape(str(sdk))}$", listed.stdout, re.M)
    assert "1.22.4" not in listed.stdout


@pytest.mark.parametrize("asked", ["1.22", "go1.22", "latest"])
def test_a_line_or_latest_picks_the_newest_stable_patch(world: World, asked: str) -> None:
    world.serve("1.23rc1", stable=False)

    result = world.inv("sdk.install", asked)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "go1.22.5 (index " in result.stdout
    assert sorted(p.name for p in world.root.iterdir() if not p.name.startswith(".")) == ["1.22.5"]
    assert world.server.downloads(archive_name("1.22.5")) == 1
    assert world.server.downloads(archive_name("1.23rc1")) == 0


def test_reinstall_needs_no_network(world: World, make_project: Callable[..., Project]) -> None:
    name = archive_name("1.22.5")
    assert world.inv("sdk.install", "1.22.5").returncode == 0
    assert world.server.downloads(name) == 1
    requests = len(world.server.requests)

    again = world.inv("sdk.install", "1.22.5")
    assert again.returncode == 0, again.stderr
    assert "already installed" in again.stdout
    assert stages(again.stdout) == ["resolve"]
    assert len(world.server.requests) == requests  # not even the index

    assert world.inv("sdk.remove", "1.22.5").returncode == 0
    assert not (world.root / "1.22.5").exists()
    # The same mirror URL with nothing behind it any more.
    with ReleaseServer() as gone:
        dead = gone.base
    offline = world.inv("sdk.install", "1.22.5", GOTASKS_SDK_MIRROR=dead)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert stages(offline.stdout) == ["resolve", "verify", "extract", "smoke-test", "activate"]
    assert "cached " + name in offline.stdout
    assert (world.root / "1.22.5" / MARKER).is_file()
    assert world.server.downloads(name) == 1
    assert leftovers(world.root) == []


def test_a_cached_archive_that_changed_is_not_trusted(world: World) -> None:
    assert world.inv("sdk.install", "1.22.5").returncode == 0
    assert world.inv("sdk.remove", "1.22.5").returncode == 0
    cached = world.cache / archive_name("1.22.5")
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")

    result = world.inv("sdk.install", "1.22.5")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHA-256 changed" in result.stdout
    assert world.server.downloads(archive_name("1.22.5")) == 2
    assert (world.root / "1.22.5" / MARKER).is_file()
    assert leftovers(world.root) == []


def test_stale_parts_and_temporary_folders_are_not_trusted(world: World) -> None:
    world.cache.mkdir(parents=True)
    part = world.cache / (archive_name("1.22.5") + ".part")
    part.write_bytes(b"junk from a killed download" * 100)
    stale = world.root / ".tmp-1.22.5-abc123"
    (stale / "bin").mkdir(parents=True)
    (stale / "bin" / "go").write_text("#!/bin/sh\necho junk\n")
    (stale / MARKER).write_text('{"version": "go1.22.5"}\n')
    aside = world.root / ".old-1.22.5-deadbeef"
    aside.mkdir()
    (aside / "junk").write_text("junk\n")

    result = world.inv("sdk.install", "1.22.5")

    assert result.returncode == 0, result.stdout + result.stderr
    assert stages(result.stdout) == STAGES
    assert leftovers(world.root) == []
    assert not part.exists() and not stale.exists() and not aside.exists()
    sdk = world.root / "1.22.5"
    with tarfile.open(world.tmp / "archives" / "good" / archive_name("1.22.5")) as tar:
        expected = {
            m.name.removeprefix("go/"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isreg()
        }
    got = {
        str(p.relative_to(sdk)): p.read_bytes()
        for p in sdk.rglob("*")
        if p.is_file() and p.name not in (MARKER, "calls.log")
    }
    assert got == expected


# -- failures: each one leaves the root exactly as it was -------------------------------------


def test_checksum_mismatch(world: World) -> None:
    before = world.install_previous()
    archive = world.tmp / "archives" / "good" / archive_name("1.22.5")
    world.server.add(archive, "1.22.5", HOST.goos, HOST.goarch, sha256="0" * 64)

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "SHA-256 mismatch", archive_name("1.22.5"))
    assert not any("1.22.5" in p.name for p in world.cache.iterdir())


def test_truncated_download(world: World) -> None:
    before = world.install_previous()
    world.server.truncate(archive_name("1.22.5"), 200)

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "cut short", archive_name("1.22.5"))


def test_archive_not_found(world: World) -> None:
    before = world.install_previous()
    world.server.fail(archive_name("1.22.5"), 404)

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "HTTP 404", archive_name("1.22.5"))


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_hostile_archives_are_refused_whole(world: World, kind: str) -> None:
    outside = world.tmp / "outside" / "evil"
    outside.parent.mkdir()
    name, extra = {
        "dotdot": ("go/../evil", member("go/../evil")),
        "absolute": (str(outside), member(str(outside))),
        "symlink": ("go/bin/link", member("go/bin/link", tarfile.SYMTYPE, "/etc/passwd")),
    }[kind]
    before = world.install_previous()
    world.serve("1.22.5", kind, extra=[extra])

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, f"member {name!r}")
    assert not outside.exists()
    assert not (world.root / "evil").exists() and not (world.tmp / "evil").exists()
    assert not any("1.22.5" in p.name for p in world.cache.iterdir())


@pytest.mark.parametrize(
    ("asked", "nearest"),
    [("1.99.1", "go1.22.5"), ("1.22.9", "go1.22.5"), ("1.20", "go1.21.3"), ("1.30", "go1.22.5")],
)
def test_unknown_version_suggests_the_nearest(world: World, asked: str, nearest: str) -> None:
    before = world.install_previous()

    result = world.inv("sdk.install", asked)

    assert_failed(world, result, 2, before, f"no Go release {asked}", f"nearest: {nearest}")


@pytest.mark.parametrize("asked", ["../../etc", "1.22.5/..", "1.22;rm", "/1.22.5", "1.22.5 x"])
@pytest.mark.parametrize("task", ["sdk.install", "sdk.remove"])
def test_version_strings_with_path_characters(world: World, task: str, asked: str) -> None:
    result = world.inv(task, asked)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"not a Go version: {asked!r} (expected e.g. 1.22.5, go1.22.5, 1.22 or latest)"
    ]
    assert not world.root.exists()
    assert world.server.requests == []


def test_smoke_test_failure_rolls_back(world: World) -> None:
    before = world.install_previous()
    world.serve("1.22.5", "liar", reported="1.22.4")

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "expected go1.22.5", "go1.22.4")
    assert "rollback: removed" in world.log


def test_a_failed_install_puts_back_what_the_cache_held(world: World) -> None:
    world.install_previous()
    # An archive under the same name but with no sidecar: not trusted, not used, but not
    # ours to lose either.
    junk = world.cache / archive_name("1.22.5")
    junk.write_bytes(b"someone's half copy")
    before = snapshot(world.root)
    world.serve("1.22.5", "liar", reported="1.22.4")

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "expected go1.22.5")
    assert junk.read_bytes() == b"someone's half copy"


def test_unreachable_mirror(world: World) -> None:
    before = world.install_previous()
    mirror = "http://127.0.0.1:9"

    result = world.inv("sdk.install", "1.22.5", GOTASKS_SDK_MIRROR=mirror)

    assert_failed(world, result, 1, before, mirror, "unreachable", "module proxy", "GOPROXY=off")


STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def interrupt_mid_download(
    world: World, signum: int, *args: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `inv *args` against a slow release server and send `signum` once the download's
    .part exists: what inv did, and how long it took to end after the signal."""
    name = archive_name("1.22.5")
    world.serve("1.22.5", "big", extra=padding(3 * MB))
    # 48 chunks 1.5 s apart: a download left to finish would take over a minute, so the
    # time from the signal to the exit tells an interrupted download from a finished one
    # without a tight bound that a loaded machine could miss.
    world.server.slow(name, chunk=65536, delay=1.5)

    process = world.popen(*args)
    try:
        part = world.cache / (name + ".part")
        deadline = time.monotonic() + 30
        while not part.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert part.exists(), process.communicate(timeout=15)
        process.send_signal(signum)
        t0 = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), took


@pytest.mark.e2e
@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_interrupt_mid_download(world: World, signum: int) -> None:
    # Ctrl-C, SIGTERM (a CI runner cancelling) and SIGHUP (a closed terminal) alike.
    before = world.install_previous()
    result, took = interrupt_mid_download(world, signum, "sdk.install", "1.22.5")
    assert_failed(world, result, 130, before, "interrupted", logged="interrupted")
    assert re.search(r"\n  download +FAILED after \d+ ms: interrupted\n", world.log), world.log
    assert took < 30, f"{took:.1f} s: the download was not interrupted"


@pytest.mark.e2e
@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_interrupt_mid_install_of_a_run(world: World, signum: int) -> None:
    # `inv ci --install` installs while the run is prepared, before any task: a stop signal
    # there rolls the install back just the same, and nothing of the run starts.
    before = world.install_previous()
    world.project.write(".go-version", "1.22.5\n")
    result, took = interrupt_mid_download(world, signum, "ci", "--install")
    shown = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 130, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    last = result.stderr.strip().splitlines()[-1]
    assert last == "interrupted: the install of Go 1.22.5 was rolled back", shown
    assert snapshot(world.root) == before
    assert leftovers(world.root) == []
    assert re.search(r"\n  download +FAILED after \d+ ms: interrupted\n", world.log), world.log
    assert took < 30, f"{took:.1f} s: the download was not interrupted"


def test_two_installs_of_one_version_at_once(world: World) -> None:
    name = archive_name("1.22.5")
    world.serve("1.22.5", "big", extra=padding(MB))
    world.server.slow(name, chunk=65536, delay=0.05)

    processes = [world.popen("sdk.install", "1.22.5") for _ in range(2)]
    results = [p.communicate(timeout=60) for p in processes]

    for process, (stdout, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stdout + stderr
    assert world.server.downloads(name) == 1
    assert sum("already installed" in stdout for stdout, _ in results) == 1
    assert [p.name for p in world.root.iterdir() if not p.name.startswith(".")] == ["1.22.5"]
    assert (world.root / "1.22.5" / MARKER).is_file()
    assert (world.root / "1.22.5" / "pad.bin").stat().st_size == MB
    assert leftovers(world.root) == []


@pytest.mark.parametrize("where", ["download", "extract"])
def test_a_full_disk(world: World, where: str) -> None:
    """RLIMIT_FSIZE: a write past 1 MB fails with EFBIG (Python ignores SIGXFSZ). Random
    padding fails the download, zeros (a small archive) fail the extraction."""
    before = world.install_previous()
    world.serve("1.22.5", where, extra=padding(3 * MB, random_bytes=where == "download"))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (MB, MB))

    result = subprocess.run(
        [sys.executable, "-m", "invoke", "sdk.install", "1.22.5"],
        cwd=world.project.root,
        env=clean_env(**world.env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )

    # GNU tar (which writes an SDK's files where there is one) reports the short write.
    said = "Wrote only" if where == "extract" and gnu_tar() is not None else "File too large"
    assert_failed(world, result, 1, before, f"sdk.install go1.22.5: {where} failed", said)
    assert re.search(rf"\n  {where} +FAILED after \d+ ms: .*{said}", world.log)


# -- removing -----------------------------------------------------------------------------------


def test_remove(world: World) -> None:
    assert world.inv("sdk.install", "1.22.5").returncode == 0
    before = world.install_previous()

    result = world.inv("sdk.remove", "1.22.5")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "removed go1.22.5" in result.stdout
    assert not (world.root / "1.22.5").exists()
    assert (world.root / "1.21.3" / MARKER).is_file()
    assert (world.cache / archive_name("1.22.5")).is_file()  # kept for a reinstall
    assert leftovers(world.root) == []
    listed = world.inv("sdk.list")
    assert "go1.21.3" in listed.stdout and "go1.22.5" not in listed.stdout
    kept = {k: v for k, v in before.items() if not k.startswith("1.22.5")}
    assert snapshot(world.root) == kept

    missing = world.inv("sdk.remove", "1.30.1")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert missing.stderr.splitlines() == [f"Go 1.30.1 is not installed in {world.root}"]
    assert snapshot(world.root) == kept


def test_an_archive_refused_while_it_downloads_ends_the_download(world: World) -> None:
    # The extraction follows the download (streamed.py): a link early in a slow archive is
    # refused before the rest arrives, and the download stage is what fails.
    name = archive_name("1.22.5")
    extra = [member("go/bin/link", tarfile.SYMTYPE, "/etc/passwd"), *padding(2 * MB)]
    before = world.install_previous()
    world.serve("1.22.5", "early", extra=extra)
    world.server.slow(name, chunk=65536, delay=0.05)

    result = world.inv("sdk.install", "1.22.5")

    assert_failed(world, result, 1, before, "member 'go/bin/link'")
    assert re.search(r"\n  download +FAILED after \d+ ms: .*member 'go/bin/link'", world.log)
