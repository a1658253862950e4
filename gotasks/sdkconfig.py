"""An env's `sdk:` settings turned into an install root, a platform and its sources."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gotasks.core.errors import UsageError
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.go.sdk.install import Installer
    from gotasks.go.sdk.platform import Platform
    from gotasks.go.sdk.sources import Source
    from gotasks.go.sdk.store import SdkStore
    from gotasks.settings import Settings


def sdk_root(settings: Settings, environ: Mapping[str, str]) -> Path:
    """$GOTASKS_SDK_ROOT, else sdk.root, else $XDG_DATA_HOME/gotasks/go."""
    configured = environ.get("GOTASKS_SDK_ROOT") or settings.section("sdk")["root"]
    if configured:
        path = Path(os.path.expanduser(configured))
        return path if path.is_absolute() else (settings.root / path)
    data = environ.get("XDG_DATA_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".local", "share"
    )
    return Path(data) / "gotasks" / "go"


def store_of(
    settings: Settings, environ: Mapping[str, str], platform: Platform | None = None
) -> SdkStore:
    """The SDKs of `platform` (default: this machine's, the ones a run can use)."""
    from gotasks.go.sdk.store import SdkStore

    return SdkStore(sdk_root(settings, environ), platform)


def platform_of(settings: Settings) -> Platform:
    from gotasks.go.sdk.platform import detect

    sdk = settings.section("sdk")
    return detect(sdk["os"], sdk["arch"])


def helper_go(root: Path) -> Path | None:
    """A go to drive `go mod download` for the module proxy: PATH's, else an installed one
    of this machine's own platform (one that can run here)."""
    from gotasks.go.sdk.store import SdkStore

    found = shutil.which("go")
    if found:
        return Path(found)
    installed = SdkStore(root).installed()
    return installed[-1].go if installed else None


def sources_of(
    settings: Settings, environ: Mapping[str, str], platform: Platform, store: SdkStore
) -> list[Source]:
    from gotasks.configspec import HTTP_URL
    from gotasks.go.redact import redact
    from gotasks.go.sdk.sources import IndexSource, ProxySource

    sdk = settings.section("sdk")
    # $GOTASKS_SDK_MIRROR stands in for the configured index (golang.google.cn/dl, say).
    mirror = environ.get("GOTASKS_SDK_MIRROR") or sdk["mirror"]
    if environ.get("GOTASKS_SDK_MIRROR") and not HTTP_URL.fullmatch(mirror):
        raise UsageError(
            f"$GOTASKS_SDK_MIRROR: {redact(mirror)!r} is not an http(s):// URL"
            " (e.g. https://golang.google.cn/dl)"
        )
    if not sdk["sources"]:
        raise UsageError(f"{settings.where(('sdk', 'sources'))}: sdk.sources: the list is empty")
    timeout = float(sdk["timeout"])
    sources: list[Source] = []
    for item in sdk["sources"]:
        if item == "proxy":
            sources.append(ProxySource(platform, helper_go(store.root), settings.go_env, store))
        else:
            sources.append(IndexSource(mirror if item == "index" else item, platform, timeout))
    return sources


def installer_of(
    settings: Settings,
    environ: Mapping[str, str],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> Installer:
    from gotasks.go.sdk.install import Installer

    platform = platform_of(settings)
    store = store_of(settings, environ, platform)
    return Installer(
        store,
        sources_of(settings, environ, platform, store),
        platform,
        out=out,
        err=err,
        log_path=state_dir(settings.root) / "sdk-install.log",
    )
