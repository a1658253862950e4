"""Archives crafted so that a header reader that is not GNU tar's twin would check one
thing while GNU tar writes another (each found by a review of tarheaders.py): every one is
refused whole by extract(), and tar never leaves a hard link, a link or an unchecked name
in dest. Built from raw 512-byte blocks; GNU tar does the writing (gnutar.py)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.gnutar import Digests, gnu_tar
from gotasks.go.sdk.members import ArchiveError, Extraction

pytestmark = pytest.mark.skipif(gnu_tar() is None, reason="no GNU tar on this machine")


def header(
    name: str,
    kind: bytes = b"0",
    size: int = 0,
    *,
    mode: int = 0o644,
    size_field: bytes | None = None,
    linkname: bytes = b"",
) -> bytes:
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = b"%07o\x00" % mode
    block[108:124] = b"0001750\x00" * 2
    block[124:136] = size_field if size_field is not None else b"%011o\x00" % size
    block[136:148] = b"14707041400\x00"
    block[156:157] = kind
    block[157 : 157 + len(linkname)] = linkname
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def pax(*records: tuple[str, str]) -> bytes:
    body = b""
    for key, value in records:
        record = b" %s=%s\n" % (key.encode(), value.encode())
        length = len(record) + 1
        while len(str(length)) + len(record) != length:
            length = len(str(length)) + len(record)
        body += str(length).encode() + record
    return header("PaxHeader", b"x", len(body)) + padded(body)


def regular(name: str, data: bytes = b"") -> bytes:
    return header(name, size=len(data)) + padded(data)


GO = header("go/", b"5", mode=0o755)
END = bytes(1024)
# A size GNU tar reads as 512 (it skips one leading NUL: a field before that overflowed)
NUL_SIZE = b"\x00" + b"0000001000" + b"\x00"
# ... and one it reads in its old base-64 as 52 (a warning, exit 0)
PLUS_SIZE = b"+0".ljust(11, b" ") + b"\x00"
HIDDEN_LINK = header("go/b", size=512) + header("go/b", b"1", linkname=b"go/a")

CRAFTED = {
    "leading-nul-size": GO + header("go/a", size_field=NUL_SIZE) + HIDDEN_LINK + END,
    "base64-size": GO + header("go/a", size_field=PLUS_SIZE) + HIDDEN_LINK + END,
    "two-pax-headers-name": GO
    + pax(("path", "go/checked"))
    + pax(("comment", "x"))
    + regular("go/unchecked", b"hi")
    + END,
    "two-pax-headers-size": GO
    + pax(("size", "1024"))
    + pax(("comment", "x"))
    + header("go/a")
    + header("go/b", b"1", linkname=b"go/a")
    + header("go/c", size=2048)
    + regular("go/x", b"x")
    + regular("go/y", b"y")
    + END,
    "long-name-with-nul-size": GO
    + regular("go/x", b"x")
    + pax(("path", "go/a"))
    + header("././@LongLink", b"L", size_field=NUL_SIZE)
    + header("go/z", size=512)
    + header("go/q", b"1", linkname=b"go/x")
    + END,
    "empty-pax-path": GO + pax(("path", "")) + regular("go/x", b"x") + END,
    "pax-size-in-other-digits": GO + pax(("size", "²")) + regular("go/x", b"x") + END,
    "size-0x81": GO + header("go/a", size_field=b"\x81" + bytes(11)) + END,
    "negative-base256-size": GO + header("go/a", size_field=b"\xff" * 12) + END,
    "base256-checksum": GO + regular("go/x", b"x") + END,  # checksum rewritten below
    # tar reads a long name into its padding, up to a NUL: here to "go/a/", which tar makes
    # a folder of, then reads the member's data as headers
    "long-name-into-its-padding": GO
    + header("././@LongLink", b"L", 4)
    + padded(b"go/a/\x00")
    + header("x", size=1024)
    + regular("go/b", b"hidden")
    + END,
    "pax-length-with-a-plus": GO
    + header("PaxHeader", b"x", 14)
    + padded(b"+14 size=1024\n")
    + header("go/a")
    + regular("go/a", b"evil")
    + END,
}


def archive_of(tmp_path: Path, data: bytes) -> Path:
    archive = tmp_path / "go1.22.5.linux-amd64.tar.gz"
    archive.write_bytes(gzip.compress(data))
    return archive


@pytest.mark.parametrize("case", CRAFTED)
def test_a_header_tar_would_read_otherwise_refuses_the_archive(tmp_path: Path, case: str) -> None:
    data = CRAFTED[case]
    if case == "base256-checksum":
        block = bytearray(data[512:1024])
        block[148:156] = b"\x80" + sum(block[:148]).to_bytes(7, "big")  # any value: refused
        data = data[:512] + bytes(block) + data[1024:]
    box = tmp_path / "sandbox"
    dest = box / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(ArchiveError) as raised:
        extract(archive_of(tmp_path, data), dest, prefix="go/")
    assert "\n" not in str(raised.value)
    assert sorted(p.name for p in box.iterdir()) == ["dest"]
    for path in dest.rglob("*"):
        assert not path.is_symlink()
        assert path.is_dir() or path.stat().st_nlink == 1


def test_a_bundles_sdk_digest_is_of_the_bytes_tar_wrote(tmp_path: Path) -> None:
    # The SDK archive hashed as it passes must be the file tar writes under that name: here
    # a header whose size tar reads as 512 (a leading NUL) would hide a second SDK file.
    top = "gotasks-bundle/"
    sdk = top + "sdk/go1.22.5.linux-amd64.tar.gz"
    genuine, tampered = b"GENUINE SDK BYTES " * 100, b"TAMPERED SDK BYTE " * 100
    hidden = header(sdk, size=len(tampered)) + padded(tampered)
    hidden += header(top + "pad", size=512 + len(padded(genuine)))
    data = (
        header(top, b"5", mode=0o755)
        + header(top + "a", size_field=NUL_SIZE)
        + header(top + "pad", size=len(hidden))
        + hidden
        + regular(sdk, genuine)
        + END
    )
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    digests = Digests(lambda rel: rel.startswith("sdk/"))
    extract(bundle, dest, prefix=top, executable_dirs=(), digests=digests)
    # Read as tar reads it, the hidden file is the one named: hashed and written alike.
    written = (dest / "sdk" / "go1.22.5.linux-amd64.tar.gz").read_bytes()
    assert written == tampered
    assert digests.found["sdk/go1.22.5.linux-amd64.tar.gz"] == hashlib.sha256(written).hexdigest()


def test_a_long_name_is_read_into_its_padding_as_tar_reads_it(tmp_path: Path) -> None:
    data = GO + header("././@LongLink", b"L", 4) + padded(b"go/abc\x00") + regular("x", b"1") + END
    dest = tmp_path / "dest"
    dest.mkdir()
    assert extract(archive_of(tmp_path, data), dest, prefix="go/") == 1
    assert (dest / "abc").read_bytes() == b"1"


def test_a_bundles_sdk_cannot_be_swapped_by_headers_only_tar_reads(tmp_path: Path) -> None:
    # A long name whose padding makes tar read "pad/" (a folder, whose data tar then reads
    # as headers: another SDK archive under the same name), while the SDK checked was the
    # genuine one. Refused whole: nothing is hashed as other bytes than tar wrote.
    top = "gotasks-bundle/"
    sdk = top + "sdk/go1.22.5.linux-amd64.tar.gz"
    genuine, tampered = b"GENUINE SDK BYTES " * 100, b"TAMPERED SDK BYTE " * 100
    inner = regular(top + "pad", b"p") + regular(sdk, tampered)
    data = (
        header(top, b"5", mode=0o755)
        + header(top + "sdk/", b"5", mode=0o755)
        + regular(sdk, genuine)
        + header("././@LongLink", b"L", len(top + "pad"))
        + padded((top + "pad").encode() + b"/\x00")
        + header("x", size=len(inner))
        + inner
        + END
    )
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="pad/"):
        extract(bundle, dest, prefix=top, executable_dirs=(), digests=Digests(lambda r: True))


def checked(tmp_path: Path, names: list[str]) -> Extraction:
    """An extraction that accepted `names` (files) and found them written, by hand."""
    import tarfile

    dest = tmp_path / "dest"
    dest.mkdir()
    out = Extraction(tmp_path / "go.tar.gz", dest, "go/", ())
    for name in names:
        info = tarfile.TarInfo(f"go/{name}")
        info.size = 1
        out.accept(info)
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(b"x")
    return out


def test_confirm_refuses_a_hard_link_tar_made(tmp_path: Path) -> None:
    out = checked(tmp_path, ["a", "b"])
    (out.dest / "b").unlink()
    os.link(out.dest / "a", out.dest / "b")
    with pytest.raises(ArchiveError, match="'b' was written as a hard link"):
        out.confirm()


def test_confirm_refuses_a_name_that_was_not_checked(tmp_path: Path) -> None:
    out = checked(tmp_path, ["a", "sub/b"])
    (out.dest / "sub" / "b").rename(out.dest / "sub" / "c")
    with pytest.raises(ArchiveError, match="'sub/c' was written by tar but never checked"):
        out.confirm()


def test_confirm_passes_what_was_checked(tmp_path: Path) -> None:
    checked(tmp_path, ["a", "sub/b"]).confirm()


def test_tar_writes_what_the_checks_read_even_where_they_misread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever a header reader gets wrong, tar reads only the headers gnutar.py writes from
    # what was checked: here a reader that takes a hard link's header for the data of a
    # regular file makes tar write a regular file holding those bytes, never a link.
    import tarfile

    from gotasks.go.sdk import gnutar

    link = header("go/b", b"1", linkname=b"go/a")
    data = GO + regular("go/a", b"a") + link + END

    def misread(read: object, refuse: object) -> object:
        a = tarfile.TarInfo("go/a")
        a.size, a.mode, a.offset_data = 1, 0o644, 1024
        yield a
        b = tarfile.TarInfo("go/b")
        b.size, b.mode, b.offset_data = 512, 0o644, 1536  # the link's header as data
        yield b

    monkeypatch.setattr(gnutar, "members", misread)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert extract(archive_of(tmp_path, data), dest, prefix="go/") == 2
    assert (dest / "a").read_bytes() == b"a"
    assert not (dest / "b").is_symlink() and (dest / "b").stat().st_nlink == 1
    assert (dest / "b").read_bytes() == link


@pytest.mark.parametrize("cut", [512, 700])
def test_a_stream_that_ends_inside_its_last_member_is_corrupt(tmp_path: Path, cut: int) -> None:
    # No end blocks and only `cut` of the 1000 bytes the header promises: tar would take
    # the end blocks gnutar.py sends for the rest (NULs no digest saw).
    data = GO + header("go/bin/go", size=1000) + b"A" * cut
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="is corrupt: unexpected end of data"):
        extract(archive_of(tmp_path, data), dest, prefix="go/")


def test_a_bundle_cut_inside_its_sdk_is_refused(tmp_path: Path) -> None:
    top = "gotasks-bundle/"
    sdk = top + "sdk/go1.22.5.linux-amd64.tar.gz"
    genuine = b"GENUINE SDK BYTES " * 50
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(
        header(top, b"5", mode=0o755) + header(sdk, size=len(genuine) + 600) + genuine
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="unexpected end of data"):
        extract(bundle, dest, prefix=top, executable_dirs=(), digests=Digests(lambda r: True))
