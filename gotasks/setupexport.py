"""`inv setup --export BUNDLE.tar`: what a machine needs to set this project up with no
network, written into one file: the selected SDK's verified archive and every module file
go.sum lists, checked against go.sum, from this machine's caches."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gotasks.context import selection_of
from gotasks.core.cancel import check_stop
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.units import format_size
from gotasks.go.artifacts import sha256_file
from gotasks.go.gosum import read_sums, where_of
from gotasks.go.modules import Module
from gotasks.go.sdk.releases import VersionRequest, go_name
from gotasks.go.sdk.selection import installed_match
from gotasks.sdkconfig import installer_of, store_of
from gotasks.settings import Settings
from gotasks.setupenv import go_env, modcache, sum_files
from gotasks.setupstamps import read_stamp

if TYPE_CHECKING:
    from gotasks.go.bundle import BundledSdk


def export(settings: Settings, modules: list[Module], out: Path) -> str:
    """Write the bundle to `out`; the line that says what it holds."""
    from gotasks.go.bundle import Manifest, select_files, write_bundle

    if out.suffix != ".tar":
        raise UsageError(f"setup --export: {out.name}: the bundle's name must end in .tar")
    toolchain, env = go_env(settings)
    sums = read_sums(settings.root, sum_files(settings, modules))
    where = where_of(sums)
    download = modcache(toolchain, env) / "cache" / "download"
    selected = select_files(
        [line for line, _ in sums], download, lambda line: where.get(line, "go.sum")
    )
    sdk, archive = _sdk_for_export(settings)
    manifest = Manifest(sdk, selected.modules)
    size = write_bundle(out, manifest, archive, download, selected.files, check_stop)
    what = f"{sdk.version} SDK, " if sdk else "no SDK (the project asks for none), "
    counts = f"{len(selected.modules)} modules, {len(selected.files)} files"
    return f"{out} ({format_size(size)}): {what}{counts}"


def _sdk_for_export(settings: Settings) -> tuple[BundledSdk | None, Path | None]:
    """The selected SDK's verified archive from the SDK cache (installed again, from the
    cache or the network, when the cache lacks it)."""
    from gotasks.go.bundle import BundledSdk

    selection = selection_of(settings, None)
    if selection is None:
        return None, None
    store = store_of(settings, os.environ)
    installed = installed_match(store, selection.request)
    if installed is None or not _cached_archive(store.cache, installed.details):
        request = installed.version if installed else selection.request
        installed = installer_of(settings, os.environ, out=sys.stdout).install(
            VersionRequest.parse(str(request)), force=installed is not None
        )
    details = installed.details
    archive = _cached_archive(store.cache, details)
    if archive is None:
        raise TaskFailed(
            f"setup --export: the SDK cache {store.cache} lacks {details.get('archive')}"
        )
    sidecar = read_stamp(store.cache / f"{archive.name}.json")
    sha256 = str(sidecar.get("sha256") or "")
    if sha256_file(archive) != sha256:
        raise TaskFailed(
            f"setup --export: {archive}: its SHA-256 no longer matches the one verified when"
            " it was downloaded; delete it and run inv setup --export again"
        )
    return (
        BundledSdk(
            version=go_name(installed.version),
            os=str(details.get("os")),
            arch=str(details.get("arch")),
            filename=archive.name,
            sha256=sha256,
            size=archive.stat().st_size,
        ),
        archive,
    )


def _cached_archive(cache: Path, details: dict[str, Any]) -> Path | None:
    name = details.get("archive")
    if not isinstance(name, str) or "/" in name:
        return None
    path = cache / name
    return path if path.is_file() and (cache / f"{name}.json").is_file() else None
