"""What an archive may write into the empty folder it is unpacked into, and the writing:
every member's name, kind and size checked (anything that could land outside the folder,
links, devices, absolute or `..` names, refuses the whole archive), files written with exact
modes, and what GNU tar wrote confirmed to be what was checked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
from pathlib import Path
from typing import IO

from gotasks.core.errors import TaskFailed

CHUNK = 1 << 20

# The member kinds GNU tar is given: a regular file (old or new style, or "contiguous",
# which is one) or a folder.
_PLAIN = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE)
# Errors creating a path inside a dest that started empty can only come from the archive
# itself (a name used twice, a file where a directory must go), never from the disk.
_CLASH = (FileExistsError, NotADirectoryError, IsADirectoryError)


class ArchiveError(TaskFailed):
    """An archive that is corrupt or unsafe: nothing of it is kept."""


class Extraction:
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
        file more, a file under another name), no file with a second name (a hard link tar
        made), and every mode as wanted (tar applies the archive's, less 022)."""
        found: set[str] = set()
        folders = [str(self.dest)]
        cut = len(folders[0]) + 1  # an entry's path less dest's: os.path.relpath is 4x slower
        while folders:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                        continue
                    rel = entry.path[cut:].replace(os.sep, "/")
                    if not entry.is_file(follow_symlinks=False):
                        raise self.refuse(rel, "was written as neither a file nor a folder")
                    if entry.stat(follow_symlinks=False).st_nlink != 1:
                        raise self.refuse(rel, "was written as a hard link")
                    found.add(rel)
        if found != self._accepted:
            unchecked = sorted(found - self._accepted)
            if unchecked:
                raise self.refuse(unchecked[0], "was written by tar but never checked")
            raise ArchiveError(
                f"{self.archive.name}: tar wrote {len(found)} files where {self.files} were"
                f" checked (not {sorted(self._accepted - found)[0]!r})"
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
