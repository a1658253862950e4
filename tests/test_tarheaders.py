"""tarheaders.members(): tar streams written by Python's tarfile in each format, read back
with the names, kinds and sizes tarfile itself reads; what GNU tar would act on and the
reader does not know refused; damaged headers corrupt. GNU tar writing what was read is
test_sdk_archive's (test_long_names_land_where_they_were_checked)."""

from __future__ import annotations

import io
import tarfile

import pytest

from gotasks.go.sdk.tarheaders import HeaderError, members

LONG = "go/src/" + "/".join(f"folder{i:02d}" for i in range(14)) + "/file_with_a_long_name.go"


class Refused(Exception):
    pass


def refuse(name: str, reason: str) -> Exception:
    return Refused(f"{name}: {reason}")


def tar_bytes(entries: list[tuple[str, bytes, bytes]], fmt: int, **kwargs: object) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, **kwargs) as tar:  # type: ignore[call-overload]
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            info.mtime = 1_700_000_000
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return out.getvalue()


def read_all(data: bytes) -> list[tarfile.TarInfo]:
    def read(offset: int, size: int) -> bytes:
        return data[offset : offset + size]

    return list(members(read, refuse))


ENTRIES = [
    ("go", tarfile.DIRTYPE, b""),
    ("go/VERSION", tarfile.REGTYPE, b"go1.26.8\n"),
    (LONG, tarfile.REGTYPE, b"package x\n" * 100),
    ("go/" + "n" * 120, tarfile.REGTYPE, b""),  # no ustar split: a long name member/pax
    ("go/bin/go", tarfile.REGTYPE, b"\x7fELF" + bytes(3000)),
]


@pytest.mark.parametrize(
    "fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT], ids=str
)
def test_every_format_reads_as_tarfile_reads_it(fmt: int) -> None:
    entries = ENTRIES if fmt != tarfile.USTAR_FORMAT else [e for e in ENTRIES if "nnn" not in e[0]]
    data = tar_bytes(entries, fmt)
    got = read_all(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        want = list(tar)
    assert [(m.name, m.type, m.size, m.mode, m.mtime) for m in got] == [
        (m.name, m.type, m.size, m.mode, m.mtime) for m in want
    ]
    assert [m.offset_data for m in got] == [m.offset_data for m in want]
    # the data of each regular member is where offset_data says
    for member, (_, _, content) in zip(got, entries, strict=True):
        if member.isreg():
            assert data[member.offset_data : member.offset_data + member.size] == content


def test_ustar_prefix_is_used_only_under_the_posix_magic() -> None:
    (block,) = [tar_bytes([(LONG, tarfile.REGTYPE, b"")], tarfile.USTAR_FORMAT)[:512]]
    assert read_all(block + bytes(1024))[0].name == LONG
    # the same header with GNU's magic: GNU tar takes the name field alone
    gnu = bytearray(block)
    gnu[257:265] = b"ustar  \x00"
    gnu[148:156] = b" " * 8
    gnu[148:156] = f"{sum(gnu):06o}\x00 ".encode()
    name_field = block[:100].rstrip(b"\x00").decode()
    assert LONG.endswith("/" + name_field)
    assert read_all(bytes(gnu) + bytes(1024))[0].name == name_field


def test_a_stream_without_its_end_blocks_ends_cleanly() -> None:
    data = tar_bytes(ENTRIES[:2], tarfile.GNU_FORMAT)
    end = 3 * 512  # two headers and one data block: no zero blocks after
    assert [m.name for m in read_all(data[:end])] == ["go", "go/VERSION"]


def test_a_stream_cut_inside_a_header_is_corrupt() -> None:
    data = tar_bytes(ENTRIES[:2], tarfile.GNU_FORMAT)
    with pytest.raises(HeaderError, match="unexpected end"):
        read_all(data[: 512 + 100])


def test_a_bad_checksum_is_corrupt() -> None:
    data = bytearray(tar_bytes(ENTRIES[:2], tarfile.GNU_FORMAT))
    data[512 + 5] ^= 1  # a letter of the second member's name
    with pytest.raises(HeaderError, match="bad checksum"):
        read_all(bytes(data))


def test_pax_keys_gnu_tar_acts_on_refuse_the_member() -> None:
    data = tar_bytes(
        [("go/sparse", tarfile.REGTYPE, b"x")],
        tarfile.PAX_FORMAT,
    )
    # the same file with a sparse map: GNU tar would lay the file out from it
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("go/sparse")
        info.size = 1
        info.pax_headers = {"GNU.sparse.map": "0,1"}
        tar.addfile(info, io.BytesIO(b"x"))
    assert [m.name for m in read_all(data)] == ["go/sparse"]
    with pytest.raises(Refused, match=r"go/sparse: has the pax key 'GNU\.sparse\.map'"):
        read_all(out.getvalue())


def test_a_global_pax_header_is_refused_unless_only_a_comment() -> None:
    commented = tar_bytes(
        ENTRIES[:2], tarfile.PAX_FORMAT, pax_headers={"comment": "made by git archive"}
    )
    assert [m.name for m in read_all(commented)] == ["go", "go/VERSION"]
    renaming = tar_bytes(ENTRIES[:2], tarfile.PAX_FORMAT, pax_headers={"path": "elsewhere"})
    with pytest.raises(Refused, match="is a global pax header"):
        read_all(renaming)


def test_pax_size_overrides_the_header() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("go/big")
        info.size = 600
        info.pax_headers = {"size": "600"}
        tar.addfile(info, io.BytesIO(bytes(600)))
        tar.addfile(tarfile.TarInfo("go/after"), io.BytesIO(b""))
    got = read_all(out.getvalue())
    assert [(m.name, m.size) for m in got] == [("go/big", 600), ("go/after", 0)]


def test_base256_numbers_are_read() -> None:
    data = bytearray(tar_bytes([("go/f", tarfile.REGTYPE, b"")], tarfile.GNU_FORMAT))
    data[136:148] = b"\x80" + (1_700_000_000).to_bytes(11, "big")  # mtime, GNU's base-256
    data[148:156] = b" " * 8
    data[148:156] = f"{sum(data[:512]):06o}\x00 ".encode()
    assert read_all(bytes(data))[0].mtime == 1_700_000_000


def test_a_folder_with_data_is_refused() -> None:
    data = bytearray(tar_bytes([("go/d", tarfile.DIRTYPE, b"")], tarfile.GNU_FORMAT))
    data[124:136] = b"00000001000\x00"
    data[148:156] = b" " * 8
    data[148:156] = f"{sum(data[:512]):06o}\x00 ".encode()
    with pytest.raises(Refused, match="go/d: is a folder with data"):
        read_all(bytes(data))


@pytest.mark.parametrize("name", ["go/VERSION", LONG, "go/" + "n" * 120])
def test_the_headers_written_for_tar_read_back_as_written(name: str) -> None:
    from gotasks.go.sdk.tarheaders import header_for

    for kind, size, mode in ((tarfile.REGTYPE, 9, 0o644), (tarfile.DIRTYPE, 0, 0o755)):
        data = header_for(name, kind, size, mode, 1_700_000_000) + bytes(512 * (size > 0))
        data += bytes(1024)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
            (theirs,) = list(tar)
        (ours,) = read_all(data)
        for member in (theirs, ours):
            assert (member.name, member.type, member.size) == (name, kind, size)
            assert (member.mode, member.mtime) == (mode, 1_700_000_000)
    assert header_for("go/big", tarfile.REGTYPE, 9 << 30, 0o644, 0)[124] == 0x80  # base-256
