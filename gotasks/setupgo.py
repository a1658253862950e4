"""Setup's Go: the version the project selects, found installed or on PATH, else installed
through sdk.install's verified, atomic path, from the network or from a setup bundle's
archive (`--from`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gotasks.context import matching_path_go
from gotasks.go.sdk.releases import VersionRequest, go_name
from gotasks.go.sdk.selection import Selection, installed_match
from gotasks.go.toolchain import Toolchain, find_toolchain
from gotasks.go.version import GoVersion
from gotasks.lookups import toolchain_at
from gotasks.paths import state_dir
from gotasks.sdkconfig import installer_of, platform_of, store_of
from gotasks.settings import Settings
from gotasks.setupledger import current

if TYPE_CHECKING:
    # Bundles and the installer are imported only when an install happens: a second
    # `inv setup` would pay for tarfile, zipfile, ssl and the rest.
    from gotasks.go.bundle import BundledSdk
    from gotasks.go.bundleunpack import Unpacked
    from gotasks.go.sdk.install import Installer


def cache_files(folder: Path) -> dict[str, int]:
    """The SDK cache's files and their sizes (what an install added, by difference)."""
    try:
        return {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    except OSError:
        return {}


def ensure_go(
    settings: Settings,
    selection: Selection | None,
    bundle: Unpacked | None = None,
    before_activate: Callable[[], None] | None = None,
) -> tuple[Toolchain, str, bool]:
    """The go to use, what was done for it, and whether anything was (installed: from
    `bundle` when given, and only once `before_activate` passed)."""
    if selection is None:
        toolchain = find_toolchain()
        return (
            toolchain,
            f"{toolchain.version_text} on PATH (the project asks for no version)",
            False,
        )
    store = store_of(settings, os.environ)
    installed = installed_match(store, selection.request)
    if installed is not None:
        return (
            toolchain_at(settings.root, installed.go),
            f"{go_name(installed.version)} installed",
            False,
        )
    on_path = matching_path_go(selection, settings.root)
    if on_path is not None:
        return on_path, f"{on_path.version_text} on PATH ({selection.origin})", False
    from gotasks.go.bundle import BundleError

    ledger = current()
    before = cache_files(store.cache)
    sdk = bundle.manifest.sdk if bundle is not None else None
    if bundle is not None:
        if sdk is None or bundle.sdk_archive is None:
            raise BundleError(
                f"the bundle has no Go SDK, and Go {selection.request} ({selection.origin})"
                " is not installed"
            )
        version = GoVersion.parse(sdk.version.removeprefix("go"))
        if not selection.request.matches(version, stable=True):
            raise BundleError(
                f"the bundle's SDK is {sdk.version}; this project asks for"
                f" {selection.request} ({selection.origin})"
            )
        installer = _bundle_installer(
            settings, bundle.sdk_archive, version, sdk, verified=bundle.sdk_verified
        )
        installer.before_activate = before_activate
        request = VersionRequest.parse(str(version))
    else:
        installer = installer_of(settings, os.environ, out=sys.stdout)
        request = selection.request
    sdk_installed = installer.install(request)
    after = cache_files(store.cache)
    new = {
        f"sdk/{k}": v for k, v in after.items() if before.get(k) != v and not k.endswith(".json")
    }
    kept = {f"sdk/{k}": v for k, v in after.items() if k in before and not k.endswith(".json")}
    if new:
        ledger.count(new, {})
    elif sdk_installed.details.get("archive") and kept:
        archive = f"sdk/{sdk_installed.details['archive']}"
        ledger.count({}, {archive: kept.get(archive, 0)})
    toolchain = find_toolchain(sdk_installed.go)
    how = f"from the {ledger.source}" if new else "from the SDK cache"
    return toolchain, f"{go_name(sdk_installed.version)} installed {how}", True


def _bundle_installer(
    settings: Settings, archive: Path, version: GoVersion, sdk: BundledSdk, *, verified: bool
) -> Installer:
    """The installer sdk.install uses, with the bundle's archive as its only source."""
    from gotasks.go.bundle import BundleError
    from gotasks.go.sdk.filesource import FileSource
    from gotasks.go.sdk.install import Installer

    platform = platform_of(settings)
    if (sdk.os, sdk.arch) != (platform.goos, platform.goarch):
        raise BundleError(f"the bundle's SDK is for {sdk.os}/{sdk.arch}, not {platform}")
    store = store_of(settings, os.environ, platform)
    source = FileSource(
        archive, version, sdk.sha256, sdk.size, f"bundle {archive.name}", verified=verified
    )
    return Installer(
        store,
        [source],
        platform,
        out=sys.stdout,
        log_path=state_dir(settings.root) / "sdk-install.log",
    )
