"""inflate.Inflater with ISA-L (isal, where installed) and with the standard library's zlib:
the same bytes, and a damaged stream raising zlib's error either way (archive.py reads that
as a corrupt archive)."""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from pathlib import Path

import pytest

from gotasks.go.sdk.inflate import Inflater


@pytest.fixture(params=["isal", "zlib"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setitem(sys.modules, "isal", None)  # import isal raises ImportError
    else:
        pytest.importorskip("isal", reason="isal has no wheel for this machine")
    return str(request.param)


def read_all(archive: Path) -> bytes:
    with Inflater(archive) as gz:
        return gz.read()


def test_the_same_bytes(tmp_path: Path, reader: str) -> None:
    data = os.urandom(3 << 20) + b"go" * (2 << 20)
    archive = tmp_path / "a.gz"
    archive.write_bytes(gzip.compress(data))
    assert read_all(archive) == data


def test_a_damaged_stream_is_zlibs_error(tmp_path: Path, reader: str) -> None:
    archive = tmp_path / "a.gz"
    packed = bytearray(gzip.compress(b"package main\n" * 50_000))
    packed[10] = 0xFF  # the first deflate block's header: block type 3, which none has
    archive.write_bytes(bytes(packed))
    with pytest.raises(zlib.error):
        read_all(archive)


def test_a_wrong_crc_is_a_bad_gzip_file(tmp_path: Path, reader: str) -> None:
    archive = tmp_path / "a.gz"
    packed = bytearray(gzip.compress(b"package main\n" * 50_000))
    packed[-8] ^= 1
    archive.write_bytes(bytes(packed))
    with pytest.raises(gzip.BadGzipFile):
        read_all(archive)


def test_a_cut_off_stream_is_an_eoferror(tmp_path: Path, reader: str) -> None:
    archive = tmp_path / "a.gz"
    archive.write_bytes(gzip.compress(b"x" * 100_000)[:-8])
    with pytest.raises(EOFError):
        read_all(archive)
