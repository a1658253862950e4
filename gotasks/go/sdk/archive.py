"""Unpacking a Go SDK archive (go.dev .tar.gz/.zip or a toolchain module zip) into an empty dir.

Only regular files and directories under one top-level prefix are written; anything that could
land outside the destination (links, devices, absolute or `..` names) refuses the whole archive.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import queue
import stat
import tarfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from gotasks.core.errors import TaskFailed
from gotasks.go.sdk.gnutar import Digests, extract_checked, gnu_tar

CHUNK = 1 << 20
# Errors that mean the archive's bytes are bad, as opposed to our writes failing.
# BadGzipFile is an OSError, so it must be caught by name before an OSError could propagate.
_CORRUPT = (
    tarfile.TarError,
    zlib.error,
    EOFError,
    gzip.BadGzipFile,
    zipfile.BadZipFile,
)
# The member kinds GNU tar is given: a regular file (old or new style, or "contiguous",
# which is one) or a folder.
_PLAIN = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE)
# Errors creating a path inside a dest that started empty can only come from the archive
# itself (a name used twice, a file where a directory must go), never from the disk.
_CLASH = (FileExistsError, NotADirectoryError, IsADirectoryError)


class ArchiveError(TaskFailed):
    """An archive that is corrupt or unsafe: nothing of it is kept."""


def extract(
    archive: Path,
    dest: Path,
    *,
    prefix: str,
    executable_dirs: tuple[str, ...] = ("bin/", "pkg/tool/"),
    check_stop: Callable[[], None] | None = None,
    max_bytes: int | None = None,
    digests: Digests | None = None,
) -> int:
    """Unpack `archive`'s members under `prefix` into the empty directory `dest`, prefix
    stripped; return how many regular files were written.

    Raises ArchiveError for a corrupt or unsafe archive, or one whose files add up to more
    than `max_bytes` (dest may then hold part of it: the caller removes dest); OSErrors
    from writing propagate unchanged. A plain `.tar` (a setup bundle) is read as well.
    Each file of a tar that `digests` wants (by its path under dest) gets its SHA-256 in
    it, taken as it is unpacked: the file need not be read again to be checked.

    A tar's files are written by GNU tar where there is one (gnutar.py: each member is
    checked here before tar sees it), else by Python, file by file.
    """
    if not prefix.endswith("/") or prefix.startswith("/"):
        raise ValueError(f"prefix must be a relative directory ending in '/': {prefix!r}")
    if not dest.is_dir() or dest.is_symlink() or any(dest.iterdir()):
        raise ValueError(f"{dest} must be an existing empty directory")
    out = _Extraction(archive, dest, prefix, executable_dirs, max_bytes)
    name = archive.name.lower()
    try:
        if name.endswith((".tar.gz", ".tgz")):
            _extract_tar(archive, out, check_stop, digests)
        elif name.endswith(".tar"):
            with archive.open("rb") as raw:
                _extract_tar_stream(raw, out, check_stop, digests)
        elif name.endswith(".zip"):
            _extract_zip(archive, out, check_stop)
        else:
            raise ArchiveError(f"{archive.name}: not a .tar, .tar.gz, .tgz or .zip archive")
    except _CORRUPT as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ArchiveError(f"{archive.name} is corrupt: {reason}") from e
    out.set_dir_times()
    return out.files


def _extract_tar(
    archive: Path,
    out: _Extraction,
    check_stop: Callable[[], None] | None,
    digests: Digests | None,
) -> None:
    # gzip (not tarfile's "r|gz", which neither checks the CRC nor notices a stream cut off
    # between members), inflated on a thread of its own while this one writes files, as
    # `tar xzf` has gzip do: zlib lets go of the GIL, so the two cores both work.
    with _Inflater(archive) as gz:
        _extract_tar_stream(gz, out, check_stop, digests)
        # Read to the end of the gzip stream so that its length and CRC are checked too:
        # a tar stops at its end-of-archive block, before the gzip trailer.
        while gz.read(CHUNK):
            pass


def _extract_tar_stream(
    stream: IO[bytes] | io.RawIOBase,
    out: _Extraction,
    check_stop: Callable[[], None] | None,
    digests: Digests | None,
) -> None:
    if gnu_tar() is not None:
        strip = out.prefix.count("/")
        extract_checked(stream, out.dest, strip, out.accept, check_stop, digests)  # type: ignore[arg-type]
        out.confirm()
        return
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if check_stop is not None:
                check_stop()
            rel = out.check(member)
            if rel is None:
                continue
            if member.isdir():
                out.make_dir(member.name, rel, member.mtime)
                continue
            source = tar.extractfile(member)
            if source is None:  # isreg() members always have data; keep mypy and us honest
                raise out.refuse(member.name, "has no data")
            executable = bool(member.mode & 0o111) or out.in_executable_dir(rel)
            digest = hashlib.sha256() if digests is not None and digests.wants(rel) else None
            out.write_file(member.name, rel, source, executable, member.mtime, digest)
            if digests is not None and digest is not None:
                digests.found[rel] = digest.hexdigest()


class _Inflater(io.RawIOBase):
    """A .gz file's content, read ahead by a thread (errors, such as a cut-off stream or a
    bad CRC, are raised by the read that reaches them)."""

    def __init__(self, archive: Path) -> None:
        super().__init__()
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=8)
        self._stop = threading.Event()
        self._chunk = b""
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._inflate, args=(archive,), daemon=True)
        self._thread.start()

    def _inflate(self, archive: Path) -> None:
        item: bytes | BaseException
        try:
            with gzip.open(archive, "rb") as gz:
                while not self._stop.is_set():
                    item = gz.read(CHUNK)
                    self._put(item)
                    if not item:
                        return
        except BaseException as error:  # handed to the reader, raised there
            self._put(error)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        parts = []
        wanted = -1 if size is None else size
        while wanted != 0:
            if self._pos >= len(self._chunk):
                if self._eof:
                    break
                item = self._chunks.get()
                if isinstance(item, BaseException):
                    raise item
                if not item:
                    self._eof = True
                    break
                self._chunk, self._pos = item, 0
            end = len(self._chunk) if wanted < 0 else min(len(self._chunk), self._pos + wanted)
            parts.append(self._chunk[self._pos : end])
            if wanted > 0:
                wanted -= end - self._pos
            self._pos = end
        return b"".join(parts)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        super().close()


def _extract_zip(archive: Path, out: _Extraction, check_stop: Callable[[], None] | None) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if check_stop is not None:
                check_stop()
            is_dir = info.filename.endswith("/")
            rel = out.relative(info.filename, is_dir=is_dir)
            # Unix-made zips keep st_mode in the high half of external_attr; 0 means "none".
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind == stat.S_IFLNK:
                raise out.refuse(info.filename, "is a symbolic link")
            if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO):
                raise out.refuse(info.filename, "is a device or fifo")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise out.refuse(info.filename, "is not a regular file or directory")
            if info.flag_bits & 0x1:
                raise out.refuse(info.filename, "is encrypted")
            if rel is None:
                continue
            mtime = _zip_mtime(info)
            if is_dir:
                out.make_dir(info.filename, rel, mtime)
                continue
            # Zip modes are unreliable (Go module zips drop them): executables by location.
            try:
                source = zf.open(info)
            except NotImplementedError as e:
                raise out.refuse(info.filename, "uses a compression method we cannot read") from e
            with source:
                out.write_file(info.filename, rel, source, out.in_executable_dir(rel), mtime)


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    # DOS timestamps are local time; module zips often carry a meaningless 1980 one.
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


class _Extraction:
    """Where members go and what has been written so far."""

    def __init__(
        self,
        archive: Path,
        dest: Path,
        prefix: str,
        executable_dirs: tuple[str, ...],
        max_bytes: int | None = None,
    ) -> None:
        self.archive = archive
        self.max_bytes = max_bytes
        self.bytes = 0
        self.dest = dest
        self.prefix = prefix
        self.executable_dirs = executable_dirs
        self.files = 0
        self._made: set[str] = set()
        # What GNU tar is to write (gnutar.py), to check the result against.
        self._accepted: set[str] = set()
        self._modes: list[tuple[str, int]] = []  # ones tar leaves other than we want
        # Set once everything is written: creating entries would change a directory's mtime.
        self._dir_times: list[tuple[Path, float]] = []

    def refuse(self, member: str, reason: str) -> ArchiveError:
        return ArchiveError(f"{self.archive.name}: member {member!r} {reason}")

    def relative(self, name: str, *, is_dir: bool) -> str | None:
        """`name` with the prefix stripped, None for the prefix's own directory (or one above
        it); refuses any name that could resolve outside the prefix."""
        if "\\" in name or "\x00" in name:
            raise self.refuse(name, "has a backslash or NUL in its name")
        if name.startswith("/"):
            raise self.refuse(name, "is an absolute path")
        path = name.rstrip("/")
        if ".." in path.split("/"):
            raise self.refuse(name, f"leaves the {self.prefix} tree")
        if is_dir and (path + "/" == self.prefix or self.prefix.startswith(path + "/")):
            return None
        if not path.startswith(self.prefix):
            raise self.refuse(name, f"is not under {self.prefix}")
        rel = path[len(self.prefix) :]
        if any(part in ("", ".") for part in rel.split("/")):
            raise self.refuse(name, "has an empty or '.' path component")
        return rel

    def check(self, member: tarfile.TarInfo) -> str | None:
        """A tar member's path under dest (None: not written), or an ArchiveError if it
        must not be written at all."""
        rel = self.relative(member.name, is_dir=member.isdir())
        if member.issym():
            raise self.refuse(member.name, "is a symbolic link")
        if member.islnk():
            raise self.refuse(member.name, "is a hard link")
        if member.ischr() or member.isblk() or member.isfifo():
            raise self.refuse(member.name, "is a device or fifo")
        if not (member.isreg() or member.isdir()):
            raise self.refuse(member.name, "is not a regular file or directory")
        return rel

    def accept(self, member: tarfile.TarInfo) -> str | None:
        """check(), and what writing it would check, for GNU tar to write it: its name
        clashing with an earlier member's, the size bound; its mode as we want it."""
        rel = self.check(member)
        if member.issparse() or member.type not in _PLAIN:
            raise self.refuse(member.name, "is not a plain file or directory")
        if rel is None:
            return None
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self._accepted:
                raise self.refuse(member.name, "clashes with an earlier member")
            self._made.add(parent)
        if member.isdir():
            if rel in self._accepted:
                raise self.refuse(member.name, "clashes with an earlier member")
            self._made.add(rel)
            if member.mode & 0o7777 != 0o755:
                self._modes.append((rel, 0o755))
            return rel
        if rel in self._accepted or rel in self._made or member.name.endswith("/"):
            raise self.refuse(member.name, "clashes with an earlier member")
        self.bytes += member.size
        if self.max_bytes is not None and self.bytes > self.max_bytes:
            raise self.refuse(member.name, f"takes it past {self.max_bytes} bytes unpacked")
        self._accepted.add(rel)
        self.files += 1
        mode = 0o755 if member.mode & 0o111 or self.in_executable_dir(rel) else 0o644
        if member.mode & 0o7777 != mode:
            self._modes.append((rel, mode))
        return rel

    def confirm(self) -> None:
        """After GNU tar: exactly the accepted files and folders, nothing else (a link, a
        file more), and every mode as wanted (tar applies the archive's, less 022)."""
        found = 0
        folders = [self.dest]
        while folders:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        found += 1
                    else:
                        rel = os.path.relpath(entry.path, self.dest)
                        raise self.refuse(rel, "was written as neither a file nor a folder")
        if found != self.files:
            raise ArchiveError(
                f"{self.archive.name}: tar wrote {found} files where {self.files} were checked"
            )
        for rel, mode in self._modes:
            os.chmod(self.dest / rel, mode)  # no links: confirmed above

    def in_executable_dir(self, rel: str) -> bool:
        return rel.startswith(self.executable_dirs)

    def make_dir(self, member: str, rel: str, mtime: float | None) -> None:
        try:
            self._make_dirs(rel)
        except _CLASH as e:
            raise self.refuse(member, "clashes with an earlier member") from e
        if mtime is not None:
            self._dir_times.append((self.dest / rel, mtime))

    def write_file(
        self,
        member: str,
        rel: str,
        source: IO[bytes],
        executable: bool,
        mtime: float | None,
        digest: hashlib._Hash | None = None,
    ) -> None:
        path = self.dest / rel
        mode = 0o755 if executable else 0o644
        try:
            parent = rel.rpartition("/")[0]
            if parent:
                self._make_dirs(parent)
            # O_EXCL|O_NOFOLLOW: never reuse or follow whatever is already at the path.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(path, flags, mode)
        except _CLASH as e:
            raise self.refuse(member, "clashes with an earlier member") from e
        with os.fdopen(fd, "wb") as f:
            while chunk := source.read(CHUNK):
                self.bytes += len(chunk)
                if self.max_bytes is not None and self.bytes > self.max_bytes:
                    raise self.refuse(member, f"takes it past {self.max_bytes} bytes unpacked")
                if digest is not None:
                    digest.update(chunk)
                f.write(chunk)
            # Exact modes whatever the umask: the archive decides, not who unpacked it.
            os.fchmod(f.fileno(), mode)
        self.files += 1
        if mtime is not None:
            _set_time(path, mtime)

    def set_dir_times(self) -> None:
        for path, mtime in self._dir_times:
            _set_time(path, mtime)

    def _make_dirs(self, rel: str) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self._made:
                continue
            path = self.dest / sub
            os.mkdir(path, 0o755)
            os.chmod(path, 0o755)  # just made by us, so not a link; exact whatever the umask
            self._made.add(sub)


def _set_time(path: Path, mtime: float) -> None:
    # A timestamp the OS cannot store: keep the file, lose the time.
    with contextlib.suppress(OverflowError, ValueError):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
