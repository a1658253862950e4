"""GNU tar as the writer of a tar stream Python checks member by member.

Python's own extraction spends an SDK install's time on ~15,000 files' worth of per-file
calls (measured: 9 s of CPU for an SDK against 5.5 s for `tar xzf`, and on a loaded machine
51 s against 15 s of wall time). Here Python still reads the stream (it inflates the gzip,
reads each header as GNU tar would, tarheaders.py, and checks it), but the bytes go on to
`tar -x` through a gate: for each member Python accepted, tar gets a header Python wrote
from what it checked (a plain file or folder, its path under dest), then the member's data
as it is read. tar never sees a header of the archive's own, so never a link, a device, a
`..` name, an extension header or anything else archive.py refuses, and never one it could
read otherwise than the checks did. The caller walks the result afterwards to confirm tar
wrote just that.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gotasks.go.sdk.members import CHUNK
from gotasks.go.sdk.tarheaders import header_for, members, padded

_BLOCK = tarfile.BLOCKSIZE


@functools.cache
def gnu_tar() -> str | None:
    """The GNU tar on PATH, or None (another tar or none, or GOTASKS_PYTHON_EXTRACT set:
    Python writes the files itself then)."""
    if os.environ.get("GOTASKS_PYTHON_EXTRACT"):
        return None
    tar = shutil.which("tar")
    if tar is None:
        return None
    try:
        out = subprocess.run(
            [tar, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return tar if out.returncode == 0 and "GNU tar" in out.stdout else None


@dataclass
class Digests:
    """The SHA-256 of each unpacked file `wants` picks (by its path under dest), taken as
    its bytes pass: `found` maps the path to it."""

    wants: Callable[[str], bool]
    found: dict[str, str] = field(default_factory=dict)


class _Gate:
    """Bytes read from `source` are held until the reader allows their offset, then go on
    to `sink`; those of a watched member pass through a SHA-256 on the way. The reader
    reads headers where they lie (`read_at`) and drops them (`skip_to`): what tar gets in
    their place is what the reader `send`s."""

    def __init__(self, source: IO[bytes], sink: IO[bytes]) -> None:
        self.source, self.sink = source, sink
        self.pending = bytearray()
        self.start = 0  # pending[:start] has gone on already (or was dropped)
        self.base = 0  # the stream offset of pending[start]
        self.allowed = 0
        self.ended = False
        self.watches: list[tuple[int, int, hashlib._Hash]] = []
        self.out = bytearray()  # small writes (headers, small files) gathered for the pipe

    def read_at(self, offset: int, size: int) -> bytes:
        """`size` bytes of the stream from `offset` (fewer at its end)."""
        self._fill(offset + size)
        at = self.start + offset - self.base
        return bytes(self.pending[at : at + size])

    def _fill(self, end: int) -> None:
        """Read until the stream's bytes up to `end` are here (or it ended)."""
        while self.base + len(self.pending) - self.start < end and not self.ended:
            data = self.source.read(CHUNK)
            if not data:
                self.ended = True
                break
            self.pending += data
            self._flush()

    def skip_to(self, offset: int) -> None:
        """Drop the stream's bytes from the end of what was allowed up to `offset`: tar
        never gets them."""
        if offset < self.allowed:
            raise tarfile.ReadError(f"a member at {offset} overlaps the one before")
        self._fill(offset)  # what was allowed has gone on once this is read
        if self.base + len(self.pending) - self.start < offset:
            raise tarfile.ReadError("unexpected end of data")
        n = offset - self.base
        self.start += n
        self.base += n
        self.allowed = offset

    def allow(self, upto: int) -> None:
        self.allowed = upto
        self._flush()

    def close(self) -> None:
        """Everything sent so far on to tar."""
        if self.out:
            self.sink.write(self.out)
            self.out.clear()

    def send(self, data: bytes | memoryview) -> None:
        """`data` on to tar, gathered with what came before it unless it is big."""
        if len(data) >= 1 << 16:  # a big file's chunk goes on as it is, not copied
            self.close()
            self.sink.write(data)
            return
        self.out += data
        if len(self.out) >= 1 << 18:
            self.close()

    def _flush(self) -> None:
        n = min(self.allowed - self.base, len(self.pending) - self.start)
        if n <= 0:
            return
        with memoryview(self.pending) as view:
            chunk = view[self.start : self.start + n]
            for start, end, digest in self.watches[-1:]:
                lo, hi = max(start, self.base), min(end, self.base + n)
                if lo < hi:
                    digest.update(chunk[lo - self.base : hi - self.base])
            self.send(chunk)
            chunk.release()
        self.start += n
        self.base += n
        # Dropped from the front only now and then: each drop moves what is left.
        if self.start == len(self.pending):
            self.pending.clear()
            self.start = 0
        elif self.start > 4 << 20:
            del self.pending[: self.start]
            self.start = 0


def extract_checked(
    stream: IO[bytes],
    dest: Path,
    accept: Callable[[tarfile.TarInfo], str | None],
    refuse: Callable[[str, str], Exception],
    check_stop: Callable[[], None] | None,
    digests: Digests | None,
) -> None:
    """Unpack the tar `stream` into `dest` with GNU tar, every member first passed to
    `accept`, which raises to refuse it and otherwise gives its path under dest (None:
    nothing of it is written, as for the folders of the prefix); `refuse(name, reason)`
    makes the error for a header tarheaders.py will not read. tar gets a header gotasks
    writes for each accepted member (its path under dest, its kind, size, mode and mtime)
    followed by the member's data from the stream: never a header of the archive's own, so
    no header can mean one thing to the checks and another to tar. Each member `digests`
    wants (by that path) gets its SHA-256 there, taken as its bytes pass to tar. OSError
    when tar itself fails (a full disk, say)."""
    tar = gnu_tar()
    assert tar is not None, "extract_checked needs GNU tar"
    argv = [tar, "-x", "-f", "-", "-C", str(dest), "--no-same-owner", "--no-same-permissions"]
    watched: list[tuple[str, hashlib._Hash]] = []
    with tempfile.TemporaryFile() as said:
        # A session of its own: Ctrl-C at a terminal reaches this process, which stops tar
        # in order (check_stop), not tar in the middle of a file.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=said,
            umask=0o022,
            # The C locale: tar then keeps a pax name's bytes as they are (in a non-UTF-8
            # locale it would convert them, writing another name than the one checked), and
            # says its errors in the English _message reads.
            env={**os.environ, "LC_ALL": "C"},
            start_new_session=True,
            # SIGXFSZ and SIGPIPE left ignored, as in this process: a write past a file size
            # limit fails with "File too large", which tar reports, instead of killing it.
            restore_signals=False,
        )
        assert process.stdin is not None
        gate = _Gate(stream, process.stdin)
        try:
            for member in members(gate.read_at, refuse):
                if check_stop is not None:
                    check_stop()
                rel = accept(member)
                # The archive's own header(s) go no further: tar gets one gotasks writes
                # from what was checked, so nothing tar reads can differ from it.
                gate.skip_to(member.offset_data)
                if rel is None:
                    continue
                if member.isdir():
                    gate.send(header_for(rel, tarfile.DIRTYPE, 0, 0o755, int(member.mtime)))
                    continue
                mode = 0o755 if member.mode & 0o111 else 0o644  # confirm() sets the rest
                gate.send(header_for(rel, tarfile.REGTYPE, member.size, mode, int(member.mtime)))
                if digests is not None and digests.wants(rel):
                    digest = hashlib.sha256()
                    start = member.offset_data
                    gate.watches.append((start, start + member.size, digest))
                    watched.append((rel, digest))
                gate.allow(member.offset_data + padded(member.size))
            if gate.base < gate.allowed:
                # The stream ended inside the last member's data: tar would take the end
                # blocks below for the rest of it.
                raise tarfile.ReadError("unexpected end of data")
            # Two zero blocks end a tar: tar sees nothing beyond what was accepted.
            gate.send(b"\0" * (2 * _BLOCK))
            gate.close()
            process.stdin.close()
        except BrokenPipeError:
            process.wait()
            if check_stop is not None:
                check_stop()  # tar was stopped along with this run: say that, not tar's end
            raise OSError(f"tar stopped: {_message(said, process.returncode)}") from None
        except BaseException:
            # What tar was given ends at a member's end (a refusal stops before its header):
            # it finishes that; the caller removes dest.
            with contextlib.suppress(OSError):
                gate.close()
            _finish(process)
            raise
        if process.wait() != 0:
            raise OSError(f"tar failed: {_message(said, process.returncode)}")
    if digests is not None:
        for rel, digest in watched:
            digests.found[rel] = digest.hexdigest()


def _finish(process: subprocess.Popen[bytes]) -> None:
    try:
        assert process.stdin is not None
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _message(said: IO[bytes], status: int) -> str:
    said.seek(0)
    lines = [
        line
        for line in said.read(8192).decode(errors="replace").strip().splitlines()
        # tar's closing "Exiting with failure status due to previous errors" says nothing
        if "Exiting with failure status" not in line
    ]
    if lines:
        if "Wrote only" in lines[-1]:
            return f"{lines[-1]} (the disk is full, or a file size limit was reached)"
        return lines[-1]
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    return f"exit {status}"
