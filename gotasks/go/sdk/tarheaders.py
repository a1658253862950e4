"""A tar stream's headers read as GNU tar reads them, and quickly: the members gnutar.py
checks before GNU tar writes them; and the headers gnutar.py writes for tar in their place.

Python's tarfile reads a stream through a read-ahead buffer it copies for each header and
decodes every field of it (owner names, device numbers, ...): for an SDK's 16,700 headers
that was 0.6 s of CPU, half the time of the whole extraction, on the process that feeds
tar. Here a header's block is read where it lies in the buffer and only what the checks and
GNU tar act on is decoded: name, kind, size, mode, mtime. Names are put together as GNU tar
does (the ustar prefix only under the POSIX magic; a GNU long-name member; a pax `path`),
and numbers as its from_header reads them, so that an archive unpacks here as with `tar x`.
A pax key GNU tar acts on that is not read here (GNU.sparse.*, GNU.dumpdir, ...) refuses
the archive, as does a global pax header with more than a comment in it, or a second pax
header or long name for one member. tar itself never reads these headers: it gets the ones
`header_for` writes from what was checked (gnutar.py), so where this reading and tar's would
differ, tar still writes what the checks saw (three reviews found such differences before
that: a leading NUL in a number, a '+', merged pax headers, a long name's padding).
"""

from __future__ import annotations

import re
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
    Each carries `offset_data`; long-name and pax members are read into the member they
    describe. `refuse(name, reason)` makes the exception
    for a member that must not be read further."""
    offset = 0
    # What a long-name or a pax member said of the member that follows. One of each at
    # most: GNU tar keeps only the last pax header of several (no merge), and no writer
    # makes two, so two are refused rather than read either way.
    long_name: bytes | None = None
    pax: dict[str, str] | None = None
    while True:
        block = read(offset, BLOCK)
        if not block and long_name is None and pax is None:
            return  # ended without the two zero blocks: GNU tar accepts that too
        if len(block) < BLOCK:
            raise HeaderError("unexpected end of data")
        if block == _ZERO:
            return
        name, kind, size, mode, mtime = _fields(block)
        data_at = offset + BLOCK
        if kind in (_LONG_NAME, _LONG_LINK, _PAX, _PAX_SOLARIS, _PAX_GLOBAL):
            said = name.decode("utf-8", "surrogateescape")
            if size > _MAX_META:
                raise refuse(said, f"has a {size}-byte header member")
            # Whole blocks: GNU tar reads a long name's padding too, up to its first NUL,
            # so a name without one within `size` goes on into it.
            blocks = read(data_at, padded(size))
            if len(blocks) < padded(size):
                raise HeaderError("unexpected end of data")
            data = blocks[:size]
            if kind == _LONG_NAME:
                if long_name is not None:
                    raise refuse(said, "is a second long name for one member")
                long_name = blocks.split(b"\x00", 1)[0]
            elif kind == _PAX_GLOBAL:
                if set(_pax_records(data)) - {"comment"}:
                    raise refuse(said, "is a global pax header")
            elif kind != _LONG_LINK:  # a link's target: links are refused anyway
                if pax is not None:
                    raise refuse(said, "is a second pax header for one member")
                pax = _pax_records(data)
            offset = data_at + padded(size)
            continue
        if long_name is not None:
            name = long_name
        text = name.decode("utf-8", "surrogateescape")
        if pax is not None:
            unknown = set(pax) - _PAX_KNOWN
            if unknown:
                raise refuse(pax.get("path", text), f"has the pax key {sorted(unknown)[0]!r}")
            if "path" in pax:
                if not pax["path"] or "\x00" in pax["path"]:
                    raise refuse(text, f"has the pax path {pax['path']!r}")
                text = pax["path"]
            if "size" in pax:
                size = _pax_number(pax["size"], text, refuse)
        member = tarfile.TarInfo(text.rstrip("/") if kind == tarfile.DIRTYPE else text)
        member.type, member.size, member.mode, member.mtime = kind, size, mode, mtime
        member.offset_data = data_at
        if kind == tarfile.DIRTYPE and size:
            raise refuse(member.name, "is a folder with data")
        yield member
        offset = data_at + (padded(size) if kind in _WITH_DATA else 0)
        long_name, pax = None, None


def padded(size: int) -> int:
    """`size` rounded up to whole blocks: what a member's data takes in the stream."""
    return -(-size // BLOCK) * BLOCK


def _fields(block: bytes) -> tuple[bytes, bytes, int, int, int]:
    """Name, kind, size, mode and mtime of a header block; HeaderError if its checksum (the
    unsigned or the signed sum, as GNU tar accepts either) does not match."""
    stored = _number(block[148:156], octal_only=True)
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


_BLANKS = frozenset(b" \t\n\v\f\r")
_LARGEST = (1 << 63) - 1  # GNU tar's bound for a size or a time (off_t, time_t)
# Octal digits after at most one NUL and blanks, ended by a NUL, a blank or the field's end.
_PLAIN_OCTAL = re.compile(rb"\x00?[ \t\n\v\f\r]*([0-7]+)(?=[\x00 \t\n\v\f\r]|\Z)")


def _number(field: bytes, *, octal_only: bool = False) -> int:
    """A numeric field read as GNU tar's from_header reads it, or HeaderError where tar
    would read something else or nothing: one leading NUL skipped (a field before it that
    overflowed), then blanks; octal digits ended by the field's end, a NUL or a blank; or
    GNU's base-256 (first byte 0x80) where not `octal_only`. What tar reads differently
    from a plain octal reading (its old base-64 after a `+` or `-`, a negative base-256)
    is refused: data read as a header by one and as data by the other would let tar write
    what was not checked."""
    plain = _PLAIN_OCTAL.match(field)
    if plain is not None:  # octal digits, as nearly every field has them
        value = int(plain[1], 8)
    else:
        # What else tar takes: an empty field, or base-256. Octal digits here were ended
        # by something tar refuses (the expression above takes every other octal field).
        at = 1 if field[:1] == b"\x00" else 0
        while at < len(field) and field[at] in _BLANKS:
            at += 1
        if at == len(field):
            raise HeaderError(f"blanks where a number belongs: {field!r}")
        if field[at] == 0:
            value = 0
        elif field[at] == 0x80 and not octal_only:
            value = int.from_bytes(field[at + 1 :], "big")
        else:
            raise HeaderError(f"bad number field {field!r}")
    if value > _LARGEST:
        raise HeaderError(f"number out of range: {field!r}")
    return value


def _pax_records(data: bytes) -> dict[str, str]:
    """A pax header's `LENGTH KEY=VALUE\\n` records."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        digits = data[pos:space] if space > pos else b""
        # ASCII digits only: int() would also take a '+', '_' or leading blanks.
        length = int(digits) if digits.isdigit() else 0
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
    # ASCII digits only: str.isdigit() also takes '²' and other scripts' digits.
    if not (value.isascii() and value.isdigit()) or int(value) > _LARGEST:
        raise refuse(name, f"has a pax size {value!r}")
    return int(value)


def header_for(name: str, kind: bytes, size: int, mode: int, mtime: int) -> bytes:
    """The header gnutar.py gives GNU tar for a checked member: GNU format, owner 0, the
    name as its bytes (folders with a '/'), a long name through a GNU long-name member."""
    path = name.encode("utf-8", "surrogateescape") + (b"/" if kind == tarfile.DIRTYPE else b"")
    out = b""
    if len(path) > 100:
        data = path + b"\x00"
        out = _block(b"././@LongLink", _LONG_NAME, len(data), 0o644, 0) + data
        out += bytes(padded(len(data)) - len(data))
        path = path[:100]
    return out + _block(path, kind, size, mode, mtime)


def _template() -> bytes:
    block = bytearray(BLOCK)
    block[108:124] = b"0000000\x000000000\x00"  # uid, gid
    block[148:156] = b" " * 8  # the checksum counts its own field as blanks
    block[257:265] = b"ustar  \x00"  # GNU's magic: no prefix field
    return bytes(block)


_TEMPLATE = _template()
_TEMPLATE_SUM = sum(_TEMPLATE)


def _block(name: bytes, kind: bytes, size: int, mode: int, mtime: int) -> bytes:
    # The fields that vary written into a copy of the rest, the checksum summed from the
    # parts (an SDK has 16,700 headers: 0.08 s summing each whole block).
    block = bytearray(_TEMPLATE)
    mode_field, size_field, time_field = b"%07o\x00" % mode, _field(size), _field(max(0, mtime))
    block[: len(name)] = name
    block[100:108] = mode_field
    block[124:136] = size_field
    block[136:148] = time_field
    block[156:157] = kind
    checksum = _TEMPLATE_SUM + sum(name) + sum(mode_field) + sum(size_field)
    checksum += sum(time_field) + kind[0]
    block[148:156] = b"%06o\x00 " % checksum
    return bytes(block)


def _field(value: int) -> bytes:
    """12 bytes: octal, or GNU's base-256 past 8 GiB (what _number reads back)."""
    if value < 8**11:
        return b"%011o\x00" % value
    return b"\x80" + value.to_bytes(11, "big")
