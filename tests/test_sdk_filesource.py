"""FileSource: a setup bundle's SDK archive as an install source, copied and hashed, or
hard-linked when its SHA-256 was taken as it was unpacked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gotasks.go.sdk.fetch import SourceError
from gotasks.go.sdk.filesource import FileSource
from gotasks.go.version import GoVersion

VERSION = GoVersion.parse("1.26.8")


def archive_at(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    path = tmp_path / "bundle" / "go1.26.8.linux-amd64.tar.gz"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_a_copy_is_hashed_and_a_mismatch_refused(tmp_path: Path) -> None:
    archive, sha = archive_at(tmp_path, b"sdk bytes" * 1000)
    source = FileSource(archive, VERSION, sha, archive.stat().st_size, "bundle")
    candidate = source.candidate(VERSION)
    assert candidate is not None
    part = tmp_path / "copy.part"
    assert source.fetch(candidate, part, None) == sha
    assert part.read_bytes() == archive.read_bytes()
    assert not os.path.samefile(part, archive)
    wrong = FileSource(archive, VERSION, "0" * 64, archive.stat().st_size, "bundle")
    with pytest.raises(SourceError, match="SHA-256 mismatch"):
        wrong.fetch(candidate, tmp_path / "wrong.part", None)


def test_a_verified_archive_is_linked_not_read(tmp_path: Path) -> None:
    archive, sha = archive_at(tmp_path, b"sdk bytes" * 1000)
    source = FileSource(archive, VERSION, sha, archive.stat().st_size, "bundle", verified=True)
    candidate = source.candidate(VERSION)
    assert candidate is not None
    part = tmp_path / "linked.part"
    assert source.fetch(candidate, part, None) == sha
    assert os.path.samefile(part, archive)


def test_a_verified_archive_that_cannot_be_linked_is_copied_and_hashed(
    tmp_path: Path,
) -> None:
    archive, sha = archive_at(tmp_path, b"sdk bytes" * 1000)
    part = tmp_path / "taken.part"
    part.write_bytes(b"in the way: the link fails")
    source = FileSource(archive, VERSION, sha, archive.stat().st_size, "bundle", verified=True)
    candidate = source.candidate(VERSION)
    assert candidate is not None
    assert source.fetch(candidate, part, None) == sha
    assert part.read_bytes() == archive.read_bytes()
