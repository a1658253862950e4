"""Which Go a project asks for: --go, $GOTASKS_GO, .go-version, go.mod's toolchain line,
config go.version; none of them means the go on PATH."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gotasks.core.errors import UsageError

if TYPE_CHECKING:
    # Loaded when a project asks for a version (releases' patterns are not free): a run
    # with the go on PATH does not pay for them.
    from gotasks.go.sdk.releases import VersionRequest
    from gotasks.go.sdk.store import Installed, SdkStore

GO_VERSION_FILE = ".go-version"
_TOOLCHAIN_LINE = re.compile(r"^\s*toolchain\s+(\S+)\s*(//.*)?$")


@dataclass(frozen=True)
class Selection:
    request: VersionRequest
    origin: str  # where it was asked for: "--go", ".go-version:1", "go.mod:5 (toolchain)", ...


def _parse(text: str, origin: str) -> Selection:
    from gotasks.go.sdk.releases import VersionRequest

    try:
        return Selection(VersionRequest.parse(text), origin)
    except UsageError as error:
        raise UsageError(f"{origin}: {error}") from None


def _go_version_file(root: Path) -> Selection | None:
    path = root / GO_VERSION_FILE
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM from Windows editors
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read: {error}") from None
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            return _parse(text, f"{path}:{number}")
    return None


def _toolchain_line(root: Path) -> Selection | None:
    """go.work's toolchain line, else go.mod's, at the project root (`toolchain default`
    asks for nothing)."""
    for name in ("go.work", "go.mod"):
        path = root / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, 1):
            match = _TOOLCHAIN_LINE.match(line)
            if not match:
                continue
            if match.group(1) == "default":
                return None  # go.work decides for its modules, as it does for go
            # go1.21.3-bigcorp names a custom build of go1.21.3: the version is what counts.
            version = re.split(r"[-+]", match.group(1), maxsplit=1)[0]
            return _parse(version, f"{path}:{number} (toolchain)")
        if name == "go.work":
            break  # a workspace without a toolchain line: its modules' lines do not apply
    return None


def select(
    root: Path,
    flag: str | None,
    environ: Mapping[str, str],
    configured: str | None,
    configured_where: str,
) -> Selection | None:
    if flag:
        return _parse(flag, "--go")
    if environ.get("GOTASKS_GO"):
        return _parse(environ["GOTASKS_GO"], "$GOTASKS_GO")
    found = _go_version_file(root) or _toolchain_line(root)
    if found is not None:
        return found
    if configured:
        return _parse(configured, f"{configured_where} (go.version)")
    return None


def installed_match(store: SdkStore, request: VersionRequest) -> Installed | None:
    """The newest installed SDK the request accepts (1.22 takes any 1.22.x installed)."""
    if request.exact is not None:
        return store.get(request.exact)
    accepted = [i for i in store.installed() if request.matches(i.version, stable=True)]
    return accepted[-1] if accepted else None
