"""A tar stream's headers read as GNU tar reads them, and quickly: the members gnutar.py
checks before GNU tar sees them.

Python's tarfile reads a stream through a read-ahead buffer it copies for each header and
decodes every field of it (owner names, device numbers, ...): for an SDK's 16,700 headers
that was 0.6 s of CPU, half the time of the whole extraction, on the process that feeds
tar. Here a header's block is read where it lies in the buffer and only what the checks and
GNU tar act on is decoded: name, kind, size, mode, mtime. Names are put together as GNU tar
does (the ustar prefix only under the POSIX magic; a GNU long-name member; a pax `path`),
so that what is checked is what tar writes. A pax key GNU tar acts on that is not read here
(GNU.sparse.*, GNU.dumpdir, ...) refuses the archive, as does a global pax header with more
than a comment in it.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator

BLOCK = tarfile.BLOCKSIZE
_ZERO = bytes(BLOCK)
_POSIX_MAGIC = b"ustar\x00"
_LONG_NAME, _LONG_LINK = b"L", b"K"
_PAX, _PAX_SOLARIS, _PAX_GLOBAL = b"x", b"X", b"g"
# Members whose data blocks follow the header (a refused kind stops the read before its
# data matters).
_WITH_DATA = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
# pax keys read here, or that change nothing GNU tar writes with the options gnutar.py gives
# it (owners and permissions are not restored; times are set as the mtime says).
_PAX_KNOWN = frozenset(
    {"path", "linkpath", "size", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname"}
    | {"comment", "charset", "hdrcharset"}
)
# Bounds on what is read into memory for a long name or a pax header.
_MAX_META = 1 << 20


class HeaderError(tarfile.TarError):
    """A header that is not a tar header (bad checksum or number) or a stream cut off."""


def members(
    read: Callable[[int, int], bytes], refuse: Callable[[str, str], Exception]
) -> Iterator[tarfile.TarInfo]:
    """The members of the tar stream `read(offset, size)` gives (size bytes from that
    offset; fewer at its end), in order, up to its first zero block or its clean end.
    Each carries `offset` (its first header's) and `offset_data`; long-name and pax members
    are read into the member they describe. `refuse(name, reason)` makes the exception
    for a member that must not be read further."""
    offset = 0
    long_name: bytes | None = None
    pax: dict[str, str] = {}
    start = 0  # where the member's first header (a long name's or a pax one's) began
    while True:
        if long_name is None and not pax:
            start = offset
        block = read(offset, BLOCK)
        if not block and long_name is None and not pax:
            return  # ended without the two zero blocks: GNU tar accepts that too
        if len(block) < BLOCK:
            raise HeaderError("unexpected end of data")
        if block == _ZERO:
            return
        name, kind, size, mode, mtime = _fields(block)
        data_at = offset + BLOCK
        if kind in (_LONG_NAME, _LONG_LINK, _PAX, _PAX_SOLARIS, _PAX_GLOBAL):
            if size > _MAX_META:
                raise refuse(name.decode(errors="replace"), f"has a {size}-byte header member")
            data = read(data_at, size)
            if len(data) < size:
                raise HeaderError("unexpected end of data")
            if kind == _LONG_NAME:
                long_name = data.split(b"\x00", 1)[0]
            elif kind == _PAX_GLOBAL:
                if set(_pax_records(data)) - {"comment"}:
                    raise refuse(name.decode(errors="replace"), "is a global pax header")
            elif kind != _LONG_LINK:  # a link's target: links are refused anyway
                pax.update(_pax_records(data))
            offset = data_at + _padded(size)
            continue
        if long_name is not None:
            name = long_name
        text = pax.get("path") or name.decode("utf-8", "surrogateescape")
        unknown = set(pax) - _PAX_KNOWN
        if unknown:
            raise refuse(text, f"has the pax key {sorted(unknown)[0]!r}")
        if "size" in pax:
            size = _pax_number(pax["size"], text, refuse)
        member = tarfile.TarInfo(text.rstrip("/") if kind == tarfile.DIRTYPE else text)
        member.type, member.size, member.mode, member.mtime = kind, size, mode, mtime
        member.offset, member.offset_data = start, data_at
        if kind == tarfile.DIRTYPE and size:
            raise refuse(member.name, "is a folder with data")
        yield member
        offset = data_at + (_padded(size) if kind in _WITH_DATA else 0)
        long_name, pax = None, {}


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _fields(block: bytes) -> tuple[bytes, bytes, int, int, int]:
    """Name, kind, size, mode and mtime of a header block; HeaderError if its checksum (the
    unsigned or the signed sum, as GNU tar accepts either) does not match."""
    stored = _number(block[148:156])
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if stored != unsigned and stored != _signed_sum(block):
        raise HeaderError("bad checksum")
    name = block[:100].split(b"\x00", 1)[0]
    if block[257:263] == _POSIX_MAGIC:  # ustar: a long name's first part is its prefix
        prefix = block[345:500].split(b"\x00", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    kind = block[156:157]
    return name, kind, _number(block[124:136]), _number(block[100:108]), _number(block[136:148])


def _signed_sum(block: bytes) -> int:
    chars = block[:148] + b" " * 8 + block[156:]
    return sum(c - 256 if c > 127 else c for c in chars)


def _number(field: bytes) -> int:
    """An octal field (spaces and NULs around it), or GNU's base-256 for big values."""
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * (len(field) - 1))) if field[0] & 0x40 else value
    digits = field.split(b"\x00", 1)[0].strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise HeaderError(f"bad number field {field!r}") from None


def _pax_records(data: bytes) -> dict[str, str]:
    """A pax header's `LENGTH KEY=VALUE\\n` records."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        record = data[space + 1 : pos + length]
        if length <= 0 or pos + length > len(data) or not record.endswith(b"\n"):
            raise HeaderError("bad pax header")
        key, sep, value = record[:-1].partition(b"=")
        if not sep:
            raise HeaderError("bad pax header")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _pax_number(value: str, name: str, refuse: Callable[[str, str], Exception]) -> int:
    if not value.isdigit():
        raise refuse(name, f"has a pax size {value!r}")
    return int(value)
