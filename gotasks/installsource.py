"""How the running gotasks was installed, as the pip requirement that installs the same one
again: for the pre-commit hook's environment (additional_dependencies), a teammate's
machine, the next steps `inv init` prints.

pip records where a distribution came from unless it came from an index (PEP 610: the
dist-info's direct_url.json): a local folder (editable or not), a VCS URL with the commit
it resolved to, an archive (a wheel or sdist file, local or remote). Only the running code
counts: a checkout put first on PYTHONPATH (gotasks' own tests) is that checkout, whatever
an installed distribution says.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTION = "gotasks"


@dataclass(frozen=True)
class InstallSource:
    """kind: "index" (`gotasks==VERSION`), "editable" or "checkout" (a local folder used in
    place: the requirement is its path), "directory" (a local folder copied in), "vcs" (a
    repository URL pinned to its commit), "archive" (a wheel or sdist, local or remote).
    requirement: what pip (or pre-commit's additional_dependencies) installs it from."""

    kind: str
    requirement: str


def running() -> InstallSource:
    """Where the gotasks that is running now came from."""
    import gotasks

    package = Path(gotasks.__file__ or ".").resolve().parent
    version = gotasks.__version__
    installed = _installed(package)
    if installed is not None:
        return installed
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file():
        # Imported from a source tree no installed distribution points at (PYTHONPATH).
        return InstallSource("checkout", str(checkout))
    return InstallSource("index", f"{DISTRIBUTION}=={version}")


def requirement() -> str:
    """The pip requirement string that installs the running gotasks."""
    return running().requirement


def _installed(package: Path) -> InstallSource | None:
    """The installed distribution's record, when that distribution is the running code."""
    # Every record of the name, not just the first on sys.path: run from a checkout, that is
    # setuptools' gotasks.egg-info build leftover there, which records no install at all.
    for dist in metadata.distributions(name=DISTRIBUTION):
        if str(getattr(dist, "_path", "")).endswith(".egg-info"):
            continue
        source = _matching(dist, package)
        if source is not None:
            return source
    return None


def _matching(dist: metadata.Distribution, package: Path) -> InstallSource | None:
    raw = dist.read_text("direct_url.json")
    try:
        record = json.loads(raw) if raw is not None else None
    except ValueError:
        record = None  # damaged: the version is still a fair guess
    source = from_direct_url(record, dist.version)
    if source.kind == "editable":
        # An editable install runs its folder's code: is that folder the running one?
        root = Path(source.requirement).resolve()
        return source if package.is_relative_to(root) else None
    # Any other install copied the package into site-packages: is the running one it?
    here = Path(str(dist.locate_file(f"{DISTRIBUTION}/__init__.py"))).resolve().parent
    return source if here == package else None


def from_direct_url(record: Any, version: str) -> InstallSource:
    """The install source a direct_url.json record (already parsed; None when there is
    none: an index install) describes. A record this does not understand counts as an
    index install of `version`: pip's own fallback, and never a wrong URL."""
    index = InstallSource("index", f"{DISTRIBUTION}=={version}")
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return index
    url: str = record["url"]
    subdirectory = record.get("subdirectory")
    fragment = f"#subdirectory={subdirectory}" if isinstance(subdirectory, str) else ""
    vcs = record.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        commit = vcs.get("commit_id")
        pin = f"@{commit}" if isinstance(commit, str) and commit else ""
        return InstallSource("vcs", f"{DISTRIBUTION} @ {vcs['vcs']}+{url}{pin}{fragment}")
    directory = record.get("dir_info")
    if isinstance(directory, dict):
        if directory.get("editable") is True and url.startswith("file:"):
            path = file_url_path(url)
            if isinstance(subdirectory, str):
                path = path / subdirectory
            return InstallSource("editable", str(path))
        return InstallSource("directory", f"{DISTRIBUTION} @ {url}{fragment}")
    if isinstance(record.get("archive_info"), dict):
        return InstallSource("archive", f"{DISTRIBUTION} @ {url}{fragment}")
    return index


def file_url_path(url: str) -> Path:
    """The local path of a file: URL (`file:///a%20b` -> /a b)."""
    return Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
