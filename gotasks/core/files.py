"""Files written whole or not at all: readers see the old file or the new one, never a part."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

StrPath = str | os.PathLike[str]


def atomic_write_text(
    path: StrPath, text: str, mode: int | None = None, durable: bool = True
) -> None:
    """Write text to path so that readers see the old file or the new one, never a part;
    `mode` (e.g. 0o755) is the file's from its first moment under that name. `durable`
    False skips the fsync: for a file that means nothing after a crash (a run's lease).

    What a path names is written to, as a shell's `>` does: a symlink's target (replaced
    atomically, the link kept), and a device or FIFO written through in place (never
    replaced by a regular file: `--trace /dev/null` must not swap out /dev/null).
    """
    path = Path(path)
    try:
        kind = path.stat().st_mode  # through every link, /proc's "magic" ones too
    except FileNotFoundError:
        kind = None
    if kind is not None and not stat.S_ISREG(kind) and not stat.S_ISDIR(kind):
        _write_through(path, text)
        return
    if _through_proc(path):
        # /dev/stdout and /dev/fd/N name a file some process has open: replacing it would
        # cut that process off from what it writes. Written in place, as `>` does.
        _write_through(path, text)
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name beside the target: same filesystem for os.replace, and os.open (unlike
    # tempfile) applies the umask, so the file gets the permissions any other file would.
    # os.urandom is what secrets.token_hex reads; importing secrets (hmac) costs every `inv`.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if mode is not None:
                # On the temp file, before the rename: nobody sees the file without it.
                os.fchmod(f.fileno(), mode)
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _through_proc(path: Path) -> bool:
    """Whether `path`, or a link on the way to its target, lies in /proc (/dev/fd/N and
    /dev/stdout do): there a link names an open file, not a place in a folder."""
    current = path
    for _ in range(40):  # as many links as the kernel follows
        parent = os.path.realpath(current.parent)
        if parent == "/proc" or parent.startswith("/proc/"):
            return True
        if not current.is_symlink():
            return False
        current = Path(parent) / os.readlink(current)
    return False


def _write_through(path: Path, text: str) -> None:
    """Write into a device, a FIFO or a file some process has open, as it is. A FIFO nobody
    reads would block the run for ever: it is an error (ENXIO, "no reader") instead."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)  # a regular file behind /dev/stdout: what `>` does
        # Once open, write as a shell does: a slow reader is waited for, not cut short.
        os.set_blocking(fd, True)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


@contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive lock on `path` (created if need be) for the length of the block;
    `on_wait` is called first if someone else holds it (to say why nothing happens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def locked_beside(path: Path) -> AbstractContextManager[None]:
    """The lock of a file replaced whole on every save: a `<name>.lock` beside it, never
    deleted (a lock held on the data file itself would guard an inode that is no longer
    the file)."""
    return locked(path.with_name(path.name + ".lock"))


class NotRegularFile(OSError):
    """A config or state file that is a FIFO, a device, a folder, or a dangling or looping
    link: reading it would hang, never end or fail later; the message says which it is."""

    def __init__(self, path: StrPath, what: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file: {what}", os.fspath(path))


def read_regular_bytes(path: StrPath) -> bytes:
    """The bytes of a regular file (through any symlinks); NotRegularFile for anything else,
    FileNotFoundError when there is nothing at all under that name."""
    path = os.fspath(path)
    regular_stat(path)
    # O_NONBLOCK: a FIFO swapped in after the stat opens at once instead of waiting for a
    # writer; the fstat below then refuses it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, _kind(mode))
        return handle.read()


def regular_stat(path: StrPath) -> os.stat_result:
    """os.stat of a regular file (through any symlinks); NotRegularFile for anything else,
    FileNotFoundError when there is nothing at all under that name."""
    path = os.fspath(path)
    try:
        info = os.stat(path)  # follows links: the target is what would be read
    except FileNotFoundError:
        if os.path.islink(path):
            raise NotRegularFile(path, f"a dangling symlink to {os.readlink(path)}") from None
        raise
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotRegularFile(path, "a symlink loop") from None
        raise
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(path, _kind(info.st_mode))
    return info


def read_regular_text(path: StrPath) -> str:
    """read_regular_bytes as UTF-8 text (UnicodeDecodeError if it is not)."""
    return read_regular_bytes(path).decode("utf-8")


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), f"file type {stat.S_IFMT(mode):o}")


@contextmanager
def naming(path: StrPath) -> Iterator[None]:
    """An OSError in the block that names no file (a write or fsync on a full disk says only
    "No space left on device") names `path`, so describe() says which file failed."""
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = os.fspath(path)
        raise


def set_aside(path: Path, reason: str, *, unmoved: str, kept: str = "") -> None:
    """Rename damaged state to <name>.corrupt (no run reads it; it stays for a look) and
    say so in one warning; if it cannot be moved, say what happens instead (`unmoved`)."""
    from gotasks.core.console import warn
    from gotasks.core.errors import describe

    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
    except OSError as error:
        warn(f"{path}: {reason}; {unmoved} (cannot set it aside: {describe(error)})")
        return
    warn(f"{path}: {reason}; set aside as {aside.name}{kept}")
