"""The SDK install root: one folder per version, a marker that says it is whole, locks,
and the cache of verified archives."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text, locked
from gotasks.core.scrub import scrub_json
from gotasks.go.sdk.platform import Platform, detect
from gotasks.go.version import GoVersion, VersionError

# Written last, into the temporary folder, before it is renamed into place: a version
# folder without it is not an install (golang.org/dl's .unpacked-success does the same).
MARKER = ".gotasks-sdk.json"
CACHE = ".cache"
LOCKS = ".locks"
TEMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"


@dataclass(frozen=True)
class Installed:
    version: GoVersion
    path: Path
    details: dict[str, Any]

    @property
    def go(self) -> Path:
        exe = ".exe" if self.details.get("os") == "windows" else ""
        return self.path / "bin" / f"go{exe}"


class SdkStore:
    """SDKs of one platform under `root`: the machine's own as `1.22.5/`, another's (sdk.os,
    sdk.arch) as `1.22.5-darwin-arm64/`, so one can never be taken for the other."""

    def __init__(self, root: Path, platform: Platform | None = None) -> None:
        self.root = root
        host = _host()
        self.platform = platform or host or Platform("", "")
        other = f"-{self.platform.goos}-{self.platform.goarch}"
        self.suffix = "" if self.platform == host else other

    def key(self, version: GoVersion) -> str:
        return f"{version}{self.suffix}"

    def path(self, version: GoVersion) -> Path:
        return self.root / self.key(version)

    def temp_prefix(self, version: GoVersion) -> str:
        """How this version's temporary folders start (cleared under its lock)."""
        return f"{TEMP_PREFIX}{self.key(version)}-"

    def aside_prefix(self, version: GoVersion) -> str:
        return f"{OLD_PREFIX}{self.key(version)}-"

    @property
    def cache(self) -> Path:
        return self.root / CACHE

    def lock_path(self, version: GoVersion) -> Path:
        return self.root / LOCKS / f"{self.key(version)}.lock"

    @contextmanager
    def lock(self, version: GoVersion, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """One install or removal of a version at a time, across processes."""
        with locked(self.lock_path(version), on_wait):
            yield

    def get(self, version: GoVersion) -> Installed | None:
        folder = self.path(version)
        try:
            details = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(details, dict) or details.get("version") != f"go{version}":
            return None
        if (details.get("os"), details.get("arch")) != (self.platform.goos, self.platform.goarch):
            return None
        return Installed(version, folder, details)

    def _versions(self) -> list[tuple[GoVersion, Path]]:
        """Folders named like this platform's versions, marker or not."""
        found = []
        for entry in self._entries():
            name = entry.name
            if self.suffix:
                if not name.endswith(self.suffix):
                    continue
                name = name.removesuffix(self.suffix)
            try:
                found.append((GoVersion.parse(name), entry))
            except VersionError:
                continue
        return found

    def installed(self) -> list[Installed]:
        found = [i for v, _ in self._versions() if (i := self.get(v)) is not None]
        return sorted(found, key=lambda i: i.version)

    def broken(self) -> list[Path]:
        """Folders that look like a version but lack the marker (not installs: never used)."""
        return [entry for version, entry in self._versions() if self.get(version) is None]

    def leftovers(self) -> list[Path]:
        """Temporary folders of an install that was killed before it could clean up."""
        return [e for e in self._entries() if e.name.startswith((TEMP_PREFIX, OLD_PREFIX))]

    def leftovers_of(self, version: GoVersion) -> list[Path]:
        mine = (self.temp_prefix(version), self.aside_prefix(version))
        return [path for path in self.leftovers() if path.name.startswith(mine)]

    def clear_leftovers(self, version: GoVersion) -> None:
        """What a killed install of this version left; call it holding the version's lock
        (then nobody else is using them)."""
        for path in self.leftovers_of(version):
            remove_tree(path)

    def _entries(self) -> list[Path]:
        try:
            return sorted(e for e in self.root.iterdir() if e.is_dir() and not e.is_symlink())
        except OSError:
            return []


def _host() -> Platform | None:
    try:
        return detect()
    except UsageError:
        return None


def write_marker(folder: Path, details: dict[str, Any]) -> None:
    text = json.dumps(scrub_json(details), indent=2, sort_keys=True)
    atomic_write_text(folder / MARKER, text + "\n")


def remove_tree(path: Path) -> None:
    """rm -rf that also removes read-only files (a module cache's, say)."""

    def make_writable(function: Any, name: str, _exc: Any) -> None:
        parent = os.path.dirname(name)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.lexists(name) and not os.path.islink(name):
            os.chmod(name, os.stat(name).st_mode | stat.S_IWUSR)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=make_writable)


def tree_bytes(folder: Path) -> int:
    """The bytes of the files under `folder` (those that vanish meanwhile count nothing)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
