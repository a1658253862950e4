"""go.sum lines, the proxy's path escaping and Go's dirhash, checked against real modules'
go.sum lines (tests/data/goproxy holds their zips and go.mod files as the proxy serves them)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from helpers import GOPROXY_DATA, REAL_GO_SUM

from gotasks.go.gosum import (
    GoSumError,
    SumLine,
    escape,
    hash_go_mod,
    hash_of,
    hash_zip,
    parse_go_sum,
    unescape,
)


def test_parse_reads_zip_and_go_mod_lines() -> None:
    lines = parse_go_sum(REAL_GO_SUM + "\n")
    assert lines[0] == SumLine(
        "github.com/mattn/go-isatty",
        "v0.0.24",
        False,
        "h1:tGZZoVgT/KiqK1c8ocVLeDS8BSWMRd47J3Lbz7vsReI=",
    )
    assert lines[1].go_mod and lines[1].version == "v0.0.24"
    assert lines[1].file == "github.com/mattn/go-isatty/@v/v0.0.24.mod"
    assert lines[2].file == "github.com/pkg/errors/@v/v0.9.1.zip"


@pytest.mark.parametrize("bad", ["github.com/x v1.0.0", "github.com/x v1.0.0 md5:abc", "a b c d"])
def test_a_malformed_line_is_named_by_file_and_line(bad: str) -> None:
    with pytest.raises(GoSumError, match=r"^svc/go.sum:2: "):
        parse_go_sum("github.com/a v1.0.0 h1:x=\n" + bad + "\n", "svc/go.sum")


@pytest.mark.parametrize(
    ("plain", "escaped"),
    [
        ("github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"),
        (
            "github.com/Azure/azure-sdk-for-go/sdk/azcore",
            "github.com/!azure/azure-sdk-for-go/sdk/azcore",
        ),
        ("golang.org/x/text", "golang.org/x/text"),
        ("v1.0.0-RC1", "v1.0.0-!r!c1"),
    ],
)
def test_escape_round_trips(plain: str, escaped: str) -> None:
    assert escape(plain) == escaped
    assert unescape(escaped) == plain


@pytest.mark.parametrize("bad", ["a!", "a!B", "aB", "!1"])
def test_unescape_refuses_what_go_would(bad: str) -> None:
    with pytest.raises(ValueError):
        unescape(bad)


def test_hashes_of_real_modules_match_their_go_sum_lines() -> None:
    for line in parse_go_sum(REAL_GO_SUM):
        assert hash_of(line, GOPROXY_DATA) == line.hash, line


def test_a_changed_byte_in_any_file_of_the_zip_changes_the_hash(tmp_path: Path) -> None:
    source = GOPROXY_DATA / "github.com/pkg/errors/@v/v0.9.1.zip"
    original = hash_zip(source)
    with zipfile.ZipFile(source) as archive:
        members = [(i, archive.read(i)) for i in archive.infolist()]
    for index in range(len(members)):
        changed = tmp_path / f"changed{index}.zip"
        with zipfile.ZipFile(changed, "w") as out:
            for position, (info, data) in enumerate(members):
                out.writestr(info, data + b" " if position == index else data)
        assert hash_zip(changed) != original
    # The same files in another order and compression: the same hash (names and contents only).
    reordered = tmp_path / "reordered.zip"
    with zipfile.ZipFile(reordered, "w", compression=zipfile.ZIP_STORED) as out:
        for info, data in reversed(members):
            out.writestr(info.filename, data)
    assert hash_zip(reordered) == original


def test_go_mod_hash_covers_the_content_only() -> None:
    data = (GOPROXY_DATA / "github.com/mattn/go-isatty/@v/v0.0.24.mod").read_bytes()
    assert hash_go_mod(data) == "h1:nMCL3Zebbrt45jsMDgnfIwz6ydEQApk5oEI3HqDio6A="
    assert hash_go_mod(data + b"\n") != hash_go_mod(data)


def test_a_file_that_is_not_a_zip_is_a_value_error(tmp_path: Path) -> None:
    fake = tmp_path / "v1.0.0.zip"
    shutil.copy(GOPROXY_DATA / "github.com/pkg/errors/@v/v0.9.1.mod", fake)
    with pytest.raises(ValueError, match="not a readable zip"):
        hash_zip(fake)
