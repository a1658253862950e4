"""follow.Following: a file read by one thread while another writes it (an SDK archive
unpacked as it downloads)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gotasks.go.sdk.follow import Following


def _read_all(follow: Following, got: list[bytes], errors: list[BaseException]) -> None:
    try:
        while chunk := follow.read(7):
            got.append(chunk)
    except BaseException as error:
        errors.append(error)


def test_the_reader_gets_every_byte_as_it_is_written(tmp_path: Path) -> None:
    part = tmp_path / "a.part"
    follow = Following(part)
    got: list[bytes] = []
    errors: list[BaseException] = []
    reader = threading.Thread(target=_read_all, args=(follow, got, errors))
    reader.start()
    with part.open("wb", buffering=0) as out:
        for i in range(50):
            out.write(bytes([i]) * 100)
            follow.wrote((i + 1) * 100)
    part.rename(tmp_path / "a")  # as the installer does: the reader keeps its file
    follow.finish()
    reader.join(10)
    follow.release()
    assert not reader.is_alive() and errors == []
    assert b"".join(got) == b"".join(bytes([i]) * 100 for i in range(50))


def test_a_failed_download_stops_the_reader_with_its_error(tmp_path: Path) -> None:
    part = tmp_path / "a.part"
    part.write_bytes(b"abc")
    follow = Following(part)
    follow.wrote(3)
    got: list[bytes] = []
    errors: list[BaseException] = []
    reader = threading.Thread(target=_read_all, args=(follow, got, errors))
    reader.start()
    follow.fail(ConnectionResetError("cut off"))
    reader.join(10)
    follow.release()
    assert not reader.is_alive()
    assert [str(e) for e in errors] == ["cut off"]


def test_a_refusing_reader_stops_the_writer(tmp_path: Path) -> None:
    part = tmp_path / "a.part"
    part.write_bytes(b"")
    follow = Following(part)
    follow.reader_error = ValueError("refused")
    with pytest.raises(ValueError, match="refused"):
        follow.wrote(0)
    follow.release()


def test_closing_ends_a_read_that_waits(tmp_path: Path) -> None:
    part = tmp_path / "a.part"
    part.write_bytes(b"")
    follow = Following(part)
    follow.wrote(0)
    errors: list[BaseException] = []
    reader = threading.Thread(target=_read_all, args=(follow, [], errors))
    reader.start()
    follow.close()
    reader.join(10)
    follow.release()
    assert not reader.is_alive() and len(errors) == 1
