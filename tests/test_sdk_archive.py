"""extract(): real tar.gz and zip archives built here, unpacked safely or refused whole."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gotasks.core.errors import TaskFailed
from gotasks.go.sdk import archive as archive_module
from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.gnutar import Digests, gnu_tar
from gotasks.go.sdk.members import ArchiveError

MTIME = 1_700_000_000
MODULE_PREFIX = "golang.org/toolchain@v0.0.1-go1.22.5.linux-amd64/"


def tar_member(
    name: str, kind: bytes = tarfile.REGTYPE, *, mode: int = 0o644, linkname: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = MTIME
    info.linkname = linkname
    return info


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def write_zip(path: Path, members: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def zip_member(name: str, *, unix_mode: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2024, 7, 2, 12, 30, 10))
    info.external_attr = unix_mode << 16
    return info


@pytest.fixture(autouse=True, params=["gnu-tar", "python"])
def writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: a tar's files written by GNU tar behind the member checks, and by
    Python itself (a machine without GNU tar)."""
    if request.param == "python":
        monkeypatch.setattr(archive_module, "gnu_tar", lambda: None)
    elif gnu_tar() is None:
        pytest.skip("no GNU tar on this machine")
    return str(request.param)


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A directory holding only dest: anything else appearing in it was written outside dest."""
    box = tmp_path / "sandbox"
    (box / "dest").mkdir(parents=True)
    return box


def outside_dest(box: Path) -> list[str]:
    return sorted(p.name for p in box.iterdir() if p.name != "dest")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tar_gz_happy_path(tmp_path: Path, sandbox: Path) -> None:
    dest = sandbox / "dest"
    archive = write_tar(
        tmp_path / "go1.22.5.linux-amd64.tar.gz",
        [
            (tar_member("go", tarfile.DIRTYPE, mode=0o755), b""),
            (tar_member("go/bin", tarfile.DIRTYPE, mode=0o755), b""),
            (tar_member("go/bin/go", mode=0o755), b"go binary"),
            (tar_member("go/VERSION", mode=0o644), b"go1.22.5\n"),
            # setuid + world-writable: only "executable or not" survives
            (tar_member("go/src/run.bash", mode=0o4777), b"#!/bin/sh\n"),
            (tar_member("go/lib/time/zoneinfo.zip", mode=0o666), b"zones"),
            # no exec bit in the archive, but pkg/tool/ holds executables
            (tar_member("go/pkg/tool/linux_amd64/compile", mode=0o644), b"compile"),
            (tar_member("go/misc/empty", tarfile.DIRTYPE, mode=0o700), b""),
        ],
    )
    assert extract(archive, dest, prefix="go/") == 5
    assert (dest / "bin/go").read_bytes() == b"go binary"
    assert (dest / "VERSION").read_text() == "go1.22.5\n"
    assert mode_of(dest / "bin/go") == 0o755
    assert mode_of(dest / "VERSION") == 0o644
    assert mode_of(dest / "src/run.bash") == 0o755
    assert mode_of(dest / "lib/time/zoneinfo.zip") == 0o644
    assert mode_of(dest / "pkg/tool/linux_amd64/compile") == 0o755
    assert (dest / "misc/empty").is_dir()
    assert mode_of(dest / "misc/empty") == 0o755
    assert mode_of(dest / "pkg/tool") == 0o755  # made implicitly
    assert (dest / "bin/go").stat().st_mtime == MTIME
    assert (dest / "misc/empty").stat().st_mtime == MTIME
    assert not (dest / "go").exists()
    assert outside_dest(sandbox) == []


def test_zip_happy_path(tmp_path: Path, sandbox: Path) -> None:
    dest = sandbox / "dest"
    archive = write_zip(
        tmp_path / "go1.22.5.windows-amd64.zip",
        [
            (zip_member("go/"), b""),
            (zip_member("go/bin/go.exe"), b"MZ go"),
            # the zip's own mode bits are ignored: location decides
            (zip_member("go/VERSION", unix_mode=stat.S_IFREG | 0o755), b"go1.22.5\n"),
            (zip_member("go/misc/"), b""),
        ],
    )
    assert extract(archive, dest, prefix="go/") == 2
    assert (dest / "bin/go.exe").read_bytes() == b"MZ go"
    assert mode_of(dest / "bin/go.exe") == 0o755
    assert mode_of(dest / "VERSION") == 0o644
    assert (dest / "misc").is_dir()
    assert sorted(p.name for p in dest.iterdir()) == ["VERSION", "bin", "misc"]
    assert outside_dest(sandbox) == []


def test_module_zip_prefix_and_executables(tmp_path: Path, sandbox: Path) -> None:
    dest = sandbox / "dest"
    archive = write_zip(
        tmp_path / "v0.0.1-go1.22.5.linux-amd64.zip",
        [
            (zip_member(MODULE_PREFIX + "bin/go"), b"go"),
            (zip_member(MODULE_PREFIX + "bin/gofmt"), b"gofmt"),
            (zip_member(MODULE_PREFIX + "pkg/tool/linux_amd64/compile"), b"compile"),
            (zip_member(MODULE_PREFIX + "src/fmt/print.go"), b"package fmt\n"),
            (zip_member(MODULE_PREFIX + "go.mod"), b"module golang.org/toolchain\n"),
        ],
    )
    assert extract(archive, dest, prefix=MODULE_PREFIX) == 5
    for rel in ("bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile"):
        assert mode_of(dest / rel) == 0o755, rel
    for rel in ("src/fmt/print.go", "go.mod"):
        assert mode_of(dest / rel) == 0o644, rel
    assert mode_of(dest / "pkg/tool/linux_amd64") == 0o755
    assert (dest / "src/fmt/print.go").read_bytes() == b"package fmt\n"
    assert outside_dest(sandbox) == []


def _tar_refusal(*members: tarfile.TarInfo) -> Callable[[Path, Path], Path]:
    def build(tmp_path: Path, box: Path) -> Path:
        entries = [(tar_member("go", tarfile.DIRTYPE, mode=0o755), b"")]
        entries.append((tar_member("go/ok", mode=0o644), b"written before the refusal"))
        for m in members:
            m.name = m.name.format(sandbox=box)
            m.linkname = m.linkname.format(sandbox=box)
            entries.append((m, b"evil" if m.isreg() else b""))
        return write_tar(tmp_path / "go1.22.5.linux-amd64.tar.gz", entries)

    return build


def _zip_refusal(*members: zipfile.ZipInfo) -> Callable[[Path, Path], Path]:
    def build(tmp_path: Path, box: Path) -> Path:
        entries = [(zip_member("go/ok"), b"written before the refusal")]
        entries += [(m, b"/etc/passwd") for m in members]
        return write_zip(tmp_path / "go1.22.5.windows-amd64.zip", entries)

    return build


REFUSALS = {
    "dotdot-inside-prefix": (_tar_refusal(tar_member("go/../x")), "'go/../x' leaves the go/ tree"),
    "absolute": (_tar_refusal(tar_member("{sandbox}/x")), "is an absolute path"),
    "absolute-etc": (_tar_refusal(tar_member("/etc/x")), "'/etc/x' is an absolute path"),
    "dotdot": (_tar_refusal(tar_member("../x")), "'../x' leaves the go/ tree"),
    "outside-prefix": (_tar_refusal(tar_member("other/x")), "'other/x' is not under go/"),
    "symlink-to-etc-passwd": (
        _tar_refusal(tar_member("go/passwd", tarfile.SYMTYPE, linkname="/etc/passwd")),
        "'go/passwd' is a symbolic link",
    ),
    "symlink-then-write-through-it": (
        _tar_refusal(
            tar_member("go/escape", tarfile.SYMTYPE, linkname="{sandbox}"),
            tar_member("go/escape/x"),
        ),
        "'go/escape' is a symbolic link",
    ),
    "symlink-inside-tree": (
        _tar_refusal(tar_member("go/bin/go2", tarfile.SYMTYPE, linkname="go")),
        "'go/bin/go2' is a symbolic link",
    ),
    "hard-link": (
        _tar_refusal(tar_member("go/hard", tarfile.LNKTYPE, linkname="go/ok")),
        "'go/hard' is a hard link",
    ),
    "fifo": (
        _tar_refusal(tar_member("go/fifo", tarfile.FIFOTYPE)),
        "'go/fifo' is a device or fifo",
    ),
    "char-device": (
        _tar_refusal(tar_member("go/null", tarfile.CHRTYPE)),
        "'go/null' is a device or fifo",
    ),
    "backslash": (
        _tar_refusal(tar_member("go\\..\\..\\x")),
        "has a backslash or NUL in its name",
    ),
    "duplicate": (_tar_refusal(tar_member("go/ok")), "'go/ok' clashes with an earlier member"),
    "file-under-file": (
        _tar_refusal(tar_member("go/ok/x")),
        "'go/ok/x' clashes with an earlier member",
    ),
    "zip-symlink": (
        _zip_refusal(zip_member("go/link", unix_mode=stat.S_IFLNK | 0o777)),
        "'go/link' is a symbolic link",
    ),
    "zip-dotdot": (_zip_refusal(zip_member("go/../../x")), "'go/../../x' leaves the go/ tree"),
    "zip-backslash": (_zip_refusal(zip_member("go\\x")), "has a backslash or NUL in its name"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_unsafe_members_are_refused(tmp_path: Path, sandbox: Path, case: str) -> None:
    build, expected = REFUSALS[case]
    archive = build(tmp_path, sandbox)
    with pytest.raises(ArchiveError) as raised:
        extract(archive, sandbox / "dest", prefix="go/")
    message = str(raised.value)
    assert message.startswith(f"{archive.name}: member ")
    assert expected in message
    assert "\n" not in message
    assert isinstance(raised.value, TaskFailed)
    assert raised.value.exit_code == 1
    assert outside_dest(sandbox) == []


@pytest.mark.parametrize(
    "fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT], ids=str
)
def test_long_names_land_where_they_were_checked(tmp_path: Path, sandbox: Path, fmt: int) -> None:
    # Names past the header's 100 bytes: a ustar prefix, GNU's long-name member or a pax
    # path. What tar writes must be what the checks read (confirm() would refuse a file
    # more or less, and the names are compared here).
    deep = "src/" + "/".join(f"folder{i:02d}" for i in range(14)) + "/a_file_with_a_long_name.go"
    names = [deep] if fmt == tarfile.USTAR_FORMAT else [deep, "lib/" + "n" * 130]
    archive = tmp_path / "go1.22.5.linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz", format=fmt) as tar:
        for name in names:
            info = tar_member(f"go/{name}")
            info.size = len(name)
            tar.addfile(info, io.BytesIO(name.encode()))
    dest = sandbox / "dest"
    assert extract(archive, dest, prefix="go/") == len(names)
    for name in names:
        assert (dest / name).read_text() == name
    assert outside_dest(sandbox) == []


def test_truncated_tar_gz_is_corrupt(tmp_path: Path, sandbox: Path) -> None:
    # incompressible data, so half the .tar.gz is half of a member
    archive = tmp_path / "go1.22.5.linux-amd64.tar.gz"
    write_tar(archive, [(tar_member(f"go/f{i}"), os.urandom(32 * 1024)) for i in range(4)])
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match=r"^go1\.22\.5\.linux-amd64\.tar\.gz is corrupt: "):
        extract(archive, sandbox / "dest", prefix="go/")
    assert outside_dest(sandbox) == []


def test_tar_gz_missing_its_gzip_trailer_is_corrupt(tmp_path: Path, sandbox: Path) -> None:
    # Every tar member is intact; only the gzip CRC/length is cut off, as a download cut
    # at the very end would leave it. tarfile's own "r|gz" does not notice this.
    archive = write_tar(tmp_path / "go.tar.gz", [(tar_member("go/a"), b"a" * 100)])
    archive.write_bytes(archive.read_bytes()[:-8])
    with pytest.raises(ArchiveError, match=r"^go\.tar\.gz is corrupt: "):
        extract(archive, sandbox / "dest", prefix="go/")


def test_random_bytes_zip_is_corrupt(tmp_path: Path, sandbox: Path) -> None:
    archive = tmp_path / "go1.22.5.windows-amd64.zip"
    archive.write_bytes(os.urandom(4096))
    with pytest.raises(ArchiveError, match=r"^go1\.22\.5\.windows-amd64\.zip is corrupt: "):
        extract(archive, sandbox / "dest", prefix="go/")
    assert list((sandbox / "dest").iterdir()) == []


def test_zip_with_a_damaged_member_is_corrupt(tmp_path: Path, sandbox: Path) -> None:
    archive = tmp_path / "go.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("go/a", b"original content")
    archive.write_bytes(archive.read_bytes().replace(b"original", b"ORIGINAL"))
    with pytest.raises(ArchiveError, match=r"^go\.zip is corrupt: .*CRC"):
        extract(archive, sandbox / "dest", prefix="go/")


def test_unknown_suffix_is_refused(tmp_path: Path, sandbox: Path) -> None:
    archive = tmp_path / "go1.22.5.linux-amd64.tar.xz"
    archive.write_bytes(b"whatever")
    with pytest.raises(ArchiveError, match=r"^go1\.22\.5\.linux-amd64\.tar\.xz: not a "):
        extract(archive, sandbox / "dest", prefix="go/")


def test_dest_must_be_empty(tmp_path: Path, sandbox: Path) -> None:
    archive = write_tar(tmp_path / "go.tar.gz", [(tar_member("go/a"), b"a")])
    (sandbox / "dest" / "stale").write_text("x")
    with pytest.raises(ValueError, match="empty directory"):
        extract(archive, sandbox / "dest", prefix="go/")


class Stop(Exception):
    pass


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_check_stop_aborts_part_way(tmp_path: Path, sandbox: Path, kind: str) -> None:
    names = [f"go/f{i}" for i in range(5)]
    if kind == "tar.gz":
        archive = write_tar(tmp_path / "go.tar.gz", [(tar_member(n), n.encode()) for n in names])
    else:
        archive = write_zip(tmp_path / "go.zip", [(zip_member(n), n.encode()) for n in names])
    calls = 0

    def check_stop() -> None:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise Stop

    dest = sandbox / "dest"
    with pytest.raises(Stop):
        extract(archive, dest, prefix="go/", check_stop=check_stop)
    assert calls == 3
    assert sorted(p.name for p in dest.iterdir()) == ["f0", "f1"]


def test_digests_are_taken_as_the_files_are_written(tmp_path: Path, sandbox: Path) -> None:
    data = os.urandom(300_000)
    archive = write_tar(
        tmp_path / "b.tar.gz",
        [(tar_member("top/sdk/a.tar.gz"), data), (tar_member("top/other"), b"other")],
    )
    digests = Digests(lambda rel: rel.startswith("sdk/"))
    assert extract(archive, sandbox / "dest", prefix="top/", digests=digests) == 2
    assert digests.found == {"sdk/a.tar.gz": hashlib.sha256(data).hexdigest()}
    assert (sandbox / "dest/sdk/a.tar.gz").read_bytes() == data


def test_the_size_bound_refuses_the_member_that_crosses_it(
    tmp_path: Path, sandbox: Path, writer: str
) -> None:
    archive = write_tar(
        tmp_path / "b.tar.gz", [(tar_member("go/a"), b"a" * 600), (tar_member("go/b"), b"b" * 600)]
    )
    with pytest.raises(ArchiveError, match="'go/b' takes it past 1000 bytes unpacked"):
        extract(archive, sandbox / "dest", prefix="go/", max_bytes=1000)
    if writer == "gnu-tar":  # checked from the header: tar never gets the member
        assert not (sandbox / "dest" / "b").exists()
