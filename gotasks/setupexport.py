"""`inv setup --export BUNDLE.tar`: what a machine needs to set this project up with no
network, written into one file: the selected SDK's verified archive and every module file
go.sum lists, checked against go.sum, from this machine's caches.

Before it is written, each module's `go mod tidy -diff` runs (what `inv lint` runs), so that
go fetches the zips tidy reads and `go mod download` does not: the packages that only the
tests of dependencies import (yq's dependencies' tests import testify, go-spew, go-test/deep
and more). go.sum has their `h1:` lines, so they go into the bundle checked like the rest,
and `inv lint` on the restored machine finds them with no network."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.context import Context

from gotasks.context import run_tool, selection_of
from gotasks.core import console
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
    from gotasks.go.toolchain import Toolchain


def export(c: Context, settings: Settings, modules: list[Module], out: Path) -> str:
    """Write the bundle to `out`; the line that says what it holds."""
    from gotasks.go.bundle import Manifest, select_files, write_bundle

    if out.suffix != ".tar":
        raise UsageError(f"setup --export: {out.name}: the bundle's name must end in .tar")
    toolchain, env = go_env(settings)
    if settings.section("lint")["tidy"]:
        fetch_for_tidy(c, toolchain, env, modules)
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


def fetch_for_tidy(
    c: Context, toolchain: Toolchain, env: dict[str, str], modules: list[Module]
) -> None:
    """`go mod tidy -diff` in each module, as lint runs it, for what go fetches on the way
    into the module cache. A diff (exit 1 with the diff on stdout) is lint's business, not
    the bundle's; a tidy that cannot run at all is said, and the export goes on (lint will
    say it too)."""
    from gotasks.lintchecks import has_tidy_diff

    if not has_tidy_diff(toolchain.version):
        return  # lint does not run tidy either
    for mod in modules:
        if not (mod.dir / "go.sum").is_file():
            continue
        check_stop()
        result = run_tool(c, [str(toolchain.go), "mod", "tidy", "-diff"], mod.dir, extra_env=env)
        if result.exited != 0 and not result.stdout.strip():
            last = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
            console.warn(
                f"setup --export: go mod tidy -diff failed in {mod.rel} ({last}): the bundle"
                " may lack modules `inv lint` needs"
            )


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
