"""What a user asks to install (1.22.5, go1.22, latest) and the releases an index offers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gotasks.core.errors import TaskFailed, UsageError
from gotasks.go.sdk.platform import Platform
from gotasks.go.version import GoVersion, VersionError

# Digits, dots and a prerelease word only: nothing that could name a path.
_REQUEST = re.compile(r"^(?:go)?(\d{1,3})\.(\d{1,4})(\.\d{1,4}|(?:alpha|beta|rc)\d{1,3})?$")


@dataclass(frozen=True)
class VersionRequest:
    """`latest`, a minor line (1.22: its newest patch) or one exact version."""

    text: str
    exact: GoVersion | None = None
    line: tuple[int, int] | None = None  # (major, minor) when a whole line was asked for

    @classmethod
    def parse(cls, text: str) -> VersionRequest:
        text = text.strip()
        if text == "latest":
            return cls(text)
        match = _REQUEST.match(text)
        if not match:
            raise UsageError(
                f"not a Go version: {text!r} (expected e.g. 1.22.5, go1.22.5, 1.22 or latest)"
            )
        if match.group(3) is None:
            return cls(text, line=(int(match.group(1)), int(match.group(2))))
        try:
            return cls(text, exact=GoVersion.parse(text))
        except VersionError as error:
            raise UsageError(str(error)) from None

    def matches(self, version: GoVersion, stable: bool) -> bool:
        if self.exact is not None:
            return version == self.exact
        if not stable or version.stage != 4:
            return False  # a line or latest means released versions only
        return self.line is None or (version.major, version.minor) == self.line

    def pick(self, versions: Iterable[tuple[GoVersion, bool]]) -> GoVersion | None:
        """The newest version of `versions` (version, stable) this request accepts."""
        chosen = [v for v, stable in versions if self.matches(v, stable)]
        return max(chosen) if chosen else None

    def __str__(self) -> str:
        return self.text


def go_name(version: GoVersion) -> str:
    """go1.22.5: how Go names a release (index entries, `go version`, GOTOOLCHAIN)."""
    return f"go{version}"


def nearest(wanted: VersionRequest, offered: Iterable[GoVersion]) -> GoVersion | None:
    """What to suggest for a version that does not exist: the newest release of the same
    line, else the closest release on either side."""
    releases = sorted(v for v in offered if v.stage == 4)
    if not releases:
        return None
    if wanted.exact is None and wanted.line is None:
        return releases[-1]
    major, minor = wanted.line or (wanted.exact.major, wanted.exact.minor)  # type: ignore[union-attr]
    same_line = [v for v in releases if (v.major, v.minor) == (major, minor)]
    if same_line:
        return same_line[-1]
    target = wanted.exact or GoVersion(major, minor, 0, 4, 0)
    below = [v for v in releases if v < target]
    above = [v for v in releases if v > target]
    return below[-1] if below else above[0] if above else None


@dataclass(frozen=True)
class ReleaseFile:
    filename: str
    goos: str
    goarch: str
    sha256: str
    size: int
    kind: str


@dataclass(frozen=True)
class Release:
    version: GoVersion
    stable: bool
    files: tuple[ReleaseFile, ...]

    def archive_for(self, platform: Platform) -> ReleaseFile | None:
        suffix = "." + platform.archive_kind
        for file in self.files:
            if (
                file.kind == "archive"
                and (file.goos, file.goarch) == (platform.goos, platform.goarch)
                and file.filename.endswith(suffix)
            ):
                return file
        return None


class IndexFormatError(TaskFailed, ValueError):
    """A release index that is not what go.dev serves: the server's fault, not the user's."""


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILENAME = re.compile(r"^[A-Za-z0-9._-]+$")


def parse_index(data: Any) -> list[Release]:
    """go.dev/dl/?mode=json&include=all, checked: a bad entry is an error, not a guess."""
    if not isinstance(data, list):
        raise IndexFormatError("expected a list of releases")
    releases = []
    for number, entry in enumerate(data):
        where = f"release #{number + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
            raise IndexFormatError(f"{where}: no version")
        try:
            version = GoVersion.parse(entry["version"])
        except VersionError:
            continue  # a name this code does not know how to order: not installable by name
        files = []
        for item in entry.get("files") or []:
            if not isinstance(item, dict):
                raise IndexFormatError(f"{where}: a file entry is not an object")
            if item.get("kind") != "archive":
                continue
            name, sha, size = item.get("filename"), item.get("sha256"), item.get("size")
            if not isinstance(name, str) or not _FILENAME.match(name):
                raise IndexFormatError(f"{entry['version']}: bad filename {name!r}")
            if not isinstance(sha, str) or not _SHA256.match(sha):
                raise IndexFormatError(f"{name}: bad sha256 {sha!r}")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                raise IndexFormatError(f"{name}: bad size {size!r}")
            files.append(
                ReleaseFile(
                    filename=name,
                    goos=str(item.get("os", "")),
                    goarch=str(item.get("arch", "")),
                    sha256=sha,
                    size=size,
                    kind="archive",
                )
            )
        releases.append(Release(version, bool(entry.get("stable")), tuple(files)))
    return releases
