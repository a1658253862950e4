"""Unpacking a Go SDK archive (go.dev .tar.gz/.zip or a toolchain module zip, or a setup
bundle's .tar) into an empty dir: reading each format member by member.

Only regular files and directories under one top-level prefix are written; what each member
may be and how it is written is members.py's (anything that could land outside the
destination refuses the whole archive); a .gz is inflated ahead on a thread (inflate.py).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from gotasks.go.sdk.gnutar import Digests, extract_checked, gnu_tar
from gotasks.go.sdk.inflate import Inflater
from gotasks.go.sdk.members import CHUNK, ArchiveError, Extraction

# Errors that mean the archive's bytes are bad, as opposed to our writes failing.
# BadGzipFile is an OSError, so it must be caught by name before an OSError could propagate.
_CORRUPT = (
    tarfile.TarError,
    zlib.error,
    EOFError,
    gzip.BadGzipFile,
    zipfile.BadZipFile,
)


def extract(
    archive: Path,
    dest: Path,
    *,
    prefix: str,
    executable_dirs: tuple[str, ...] = ("bin/", "pkg/tool/"),
    check_stop: Callable[[], None] | None = None,
    max_bytes: int | None = None,
    digests: Digests | None = None,
    stream: io.RawIOBase | None = None,
) -> int:
    """Unpack `archive`'s members under `prefix` into the empty directory `dest`, prefix
    stripped; return how many regular files were written.

    Raises ArchiveError for a corrupt or unsafe archive, or one whose files add up to more
    than `max_bytes` (dest may then hold part of it: the caller removes dest); OSErrors
    from writing propagate unchanged. A plain `.tar` (a setup bundle) is read as well.
    Each file of a tar that `digests` wants (by its path under dest) gets its SHA-256 in
    it, taken as it is unpacked: the file need not be read again to be checked. A .tar.gz
    is read from `stream` when given (streamed.py: the file as it downloads).

    A tar's files are written by GNU tar where there is one (gnutar.py: each member is
    checked here before tar sees it), else by Python, file by file.
    """
    if not prefix.endswith("/") or prefix.startswith("/"):
        raise ValueError(f"prefix must be a relative directory ending in '/': {prefix!r}")
    if not dest.is_dir() or dest.is_symlink() or any(dest.iterdir()):
        raise ValueError(f"{dest} must be an existing empty directory")
    out = Extraction(archive, dest, prefix, executable_dirs, max_bytes)
    name = archive.name.lower()
    try:
        if name.endswith((".tar.gz", ".tgz")):
            _extract_tar(stream or archive, out, check_stop, digests)
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
    archive: Path | io.RawIOBase,
    out: Extraction,
    check_stop: Callable[[], None] | None,
    digests: Digests | None,
) -> None:
    # gzip (not tarfile's "r|gz", which neither checks the CRC nor notices a stream cut off
    # between members), inflated on a thread of its own while this one writes files, as
    # `tar xzf` has gzip do: zlib lets go of the GIL, so the two cores both work.
    with Inflater(archive) as gz:
        _extract_tar_stream(gz, out, check_stop, digests)
        # Read to the end of the gzip stream so that its length and CRC are checked too:
        # a tar stops at its end-of-archive block, before the gzip trailer.
        while gz.read(CHUNK):
            pass


def _extract_tar_stream(
    stream: IO[bytes] | io.RawIOBase,
    out: Extraction,
    check_stop: Callable[[], None] | None,
    digests: Digests | None,
) -> None:
    if gnu_tar() is not None:
        reader: IO[bytes] = stream  # type: ignore[assignment]
        extract_checked(reader, out.dest, out.accept, out.refuse, check_stop, digests)
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


def _extract_zip(archive: Path, out: Extraction, check_stop: Callable[[], None] | None) -> None:
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
