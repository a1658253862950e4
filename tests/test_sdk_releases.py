"""Version requests, the release index format, nearest suggestions and platform names."""

from __future__ import annotations

from typing import Any

import pytest

from gotasks.core.errors import UsageError
from gotasks.go.goenvfile import default_go_env_file
from gotasks.go.sdk.platform import Platform, detect
from gotasks.go.sdk.releases import IndexFormatError, VersionRequest, nearest, parse_index
from gotasks.go.version import GoVersion

V = GoVersion.parse
OFFERED = [
    (V(t), s)
    for t, s in [
        ("1.22.4", True),
        ("1.22.5", True),
        ("1.23rc1", False),
        ("1.21.13", True),
        ("1.20", True),
        ("1.20.1", True),
    ]
]


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        ("1.22.5", "1.22.5"),
        ("go1.22.5", "1.22.5"),
        ("1.22", "1.22.5"),  # a line: its newest patch
        ("go1.22", "1.22.5"),
        ("latest", "1.22.5"),  # the newest stable; 1.23rc1 is not stable
        ("1.23rc1", "1.23rc1"),  # an exact prerelease can be asked for by name
        ("1.20", "1.20.1"),  # before 1.21 the first release had no .0; the line still wins
        ("1.19", None),
    ],
)
def test_request_picks(text: str, picked: str | None) -> None:
    chosen = VersionRequest.parse(text).pick(OFFERED)
    assert (str(chosen) if chosen else None) == picked


@pytest.mark.parametrize(
    "text", ["../../etc", "1.22.5/..", "1.22;rm -rf", "1", "1.22.5.1", "", "v1.22", "1.22.x"]
)
def test_request_refuses_what_is_not_a_version(text: str) -> None:
    with pytest.raises(UsageError, match="not a Go version"):
        VersionRequest.parse(text)


@pytest.mark.parametrize(
    ("text", "suggested"),
    [("1.22.9", "1.22.5"), ("1.99.1", "1.22.5"), ("1.19.2", "1.20"), ("1.21", "1.21.13")],
)
def test_nearest(text: str, suggested: str) -> None:
    found = nearest(VersionRequest.parse(text), [v for v, _ in OFFERED])
    assert str(found) == suggested


def _entry(**changes: Any) -> dict[str, Any]:
    file = {
        "filename": "go1.22.5.linux-amd64.tar.gz",
        "os": "linux",
        "arch": "amd64",
        "sha256": "a" * 64,
        "size": 10,
        "kind": "archive",
    }
    file.update(changes)
    return {"version": "go1.22.5", "stable": True, "files": [file]}


def test_index_archive_for_platform() -> None:
    index = [_entry(), {"version": "go1.22.5", "stable": True, "files": []}]
    release = parse_index(index)[0]
    assert release.archive_for(Platform("linux", "amd64")) is not None
    assert release.archive_for(Platform("linux", "arm64")) is None
    assert release.archive_for(Platform("windows", "amd64")) is None


@pytest.mark.parametrize(
    "changes",
    [{"sha256": "xyz"}, {"size": -1}, {"size": True}, {"filename": "../go.tar.gz"}],
)
def test_index_refuses_bad_entries(changes: dict[str, Any]) -> None:
    with pytest.raises(IndexFormatError):
        parse_index([_entry(**changes)])


def test_index_must_be_a_list() -> None:
    with pytest.raises(IndexFormatError):
        parse_index({"version": "go1.22.5"})


def test_platform_names() -> None:
    assert detect("windows", "amd64").archive_kind == "zip"
    assert detect("linux", "arm64").archive_kind == "tar.gz"
    assert detect().goos in ("linux", "darwin", "windows", "freebsd")


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({"GOENV": "off"}, "linux", ""),
        ({"GOENV": "/x/env"}, "linux", "/x/env"),
        ({"HOME": "/h"}, "linux", "/h/.config/go/env"),
        ({"HOME": "/h", "XDG_CONFIG_HOME": "/c"}, "linux", "/c/go/env"),
        ({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "linux", "/h/.config/go/env"),
        ({"HOME": "/h"}, "darwin", "/h/Library/Application Support/go/env"),
    ],
)
def test_default_go_env_file(environ: dict[str, str], platform: str, expected: str) -> None:
    assert default_go_env_file(environ, platform) == expected
