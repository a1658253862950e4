"""Output paths (--trace, --junit, every file gotasks writes) are written to as a shell's `>`
writes: a symlink's target, a device or FIFO in place; only a regular file is replaced."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, require_go

from gotasks.core.files import atomic_write_text

MakeProject = Callable[..., Project]


def char_device(path: Path, like: str) -> Path:
    """A character device node with the numbers of /dev/null or /dev/full (needs root).
    Never the system's own: a writer that gets it wrong would replace it for everyone."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.stat(like).st_rdev)
    return path


def is_char_device(path: Path, like: str) -> bool:
    info = os.lstat(path)
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == os.stat(like).st_rdev


class FifoReader:
    """Reads a FIFO, as `cat fifo` would, until the first writer has written and closed.

    The FIFO is opened here, before any writer comes (non-blocking, so this does not wait
    for one): a writer then finds a reader. Until a writer has sent something, an end of
    file only means none has come yet."""

    def __init__(self, path: Path) -> None:
        self.data = b""
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(self.fd, 65536)
                except BlockingIOError:
                    time.sleep(0.005)
                    continue
                if chunk:
                    self.data += chunk
                elif self.data:
                    return  # the writer closed after writing
                else:
                    time.sleep(0.005)  # no writer yet
        finally:
            os.close(self.fd)


# -- the writer itself ---------------------------------------------------------------------


def test_a_regular_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "a" / "out.json"
    atomic_write_text(target, "one\n")
    inode = target.stat().st_ino
    atomic_write_text(target, "two\n", mode=0o640)
    assert target.read_text() == "two\n"
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


@pytest.mark.parametrize("hops", [1, 3])
def test_a_symlink_keeps_pointing_at_its_target_which_gets_the_text(
    tmp_path: Path, hops: int
) -> None:
    real = tmp_path / "reports" / "trace.json"
    real.parent.mkdir()
    real.write_text("old\n")
    link = real
    for hop in range(hops):
        nxt = tmp_path / f"link{hop}"
        nxt.symlink_to(link)
        link = nxt
    atomic_write_text(link, "new\n")
    assert link.is_symlink() and os.path.realpath(link) == str(real)
    assert real.read_text() == "new\n"
    assert not real.is_symlink()
    # The temporary file was made beside the target, and is gone.
    assert [p.name for p in real.parent.iterdir()] == ["trace.json"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "later.xml")
    atomic_write_text(link, "<x/>\n")
    assert link.is_symlink()
    assert (tmp_path / "later.xml").read_text() == "<x/>\n"


def test_a_device_is_written_through_and_stays_a_device(tmp_path: Path) -> None:
    null = char_device(tmp_path / "null", "/dev/null")
    atomic_write_text(null, "x" * 100_000)
    assert is_char_device(null, "/dev/null")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]
    # A symlink to a device: the same, through the link.
    link = tmp_path / "to-null"
    link.symlink_to(null)
    atomic_write_text(link, "x")
    assert link.is_symlink() and is_char_device(null, "/dev/null")


def test_a_full_device_fails_and_stays_a_device(tmp_path: Path) -> None:
    full = char_device(tmp_path / "full", "/dev/full")
    with pytest.raises(OSError) as caught:
        atomic_write_text(full, "x")
    assert caught.value.errno == errno.ENOSPC
    assert is_char_device(full, "/dev/full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_a_fifo_with_a_reader_gets_everything(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    text = "line\n" * 50_000  # more than a pipe holds: the writer waits for the reader
    atomic_write_text(fifo, text)
    reader.thread.join(timeout=60)
    assert reader.data == text.encode()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_an_open_file_named_through_proc_is_written_in_place(tmp_path: Path) -> None:
    """/dev/fd/N of a regular file: truncated and written as `>` does, not replaced (which
    would leave the descriptor pointing at a deleted file)."""
    target = tmp_path / "out.txt"
    with target.open("w") as handle:
        inode = target.stat().st_ino
        atomic_write_text(f"/dev/fd/{handle.fileno()}", "through the descriptor\n")
    assert target.stat().st_ino == inode
    assert target.read_text() == "through the descriptor\n"


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:
        atomic_write_text(fifo, "x")
    assert caught.value.errno == errno.ENXIO
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# -- through inv ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_trace_into_a_device_a_symlink_and_a_fifo(
    make_project: MakeProject, tmp_path: Path
) -> None:
    require_go()
    project = make_project(git=False)
    null = char_device(tmp_path / "null", "/dev/null")
    result = project.inv("env", "--trace", str(null))
    assert result.returncode == 0, result.stderr
    assert is_char_device(null, "/dev/null")

    full = char_device(tmp_path / "full", "/dev/full")
    result = project.inv("env", "--trace", str(full))
    assert result.returncode == 0, result.stderr
    assert "could not write the trace" in result.stderr
    assert is_char_device(full, "/dev/full")

    real = tmp_path / "traces" / "run.json"
    real.parent.mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    result = project.inv("env", "--trace", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and '"traceEvents"' in real.read_text()

    # /dev/stdout, a pipe here: a link /proc resolves to a pipe, written in place.
    result = project.inv("env", "--trace", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert '"traceEvents"' in result.stdout

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    result = project.inv("env", "--trace", str(fifo))
    assert result.returncode == 0, result.stderr
    reader.thread.join(timeout=60)
    assert b'"traceEvents"' in reader.data
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.e2e
def test_junit_through_a_symlink_and_into_a_device(
    make_project: MakeProject, tmp_path: Path
) -> None:
    require_go()
    project = make_project(git=False)
    real = tmp_path / "ci" / "junit.xml"
    real.parent.mkdir()
    link = tmp_path / "junit.xml"
    link.symlink_to(real)
    result = project.inv("test", "--junit", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and "<testsuites" in real.read_text()

    null = char_device(tmp_path / "null", "/dev/null")
    result = project.inv("test", "--junit", str(null))
    assert result.returncode == 0, result.stderr
    assert is_char_device(null, "/dev/null")
