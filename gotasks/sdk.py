"""`inv sdk.*`: Go SDKs installed without root, verified, side by side, chosen per project."""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import choose_toolchain, matching_path_go, selection_of, settings_of
from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text
from gotasks.engine import task

if TYPE_CHECKING:
    from gotasks.go.sdk.selection import Selection
    from gotasks.go.sdk.store import Installed, SdkStore
    from gotasks.go.version import GoVersion
    from gotasks.settings import Settings

# These need settings, not a go: they are how a machine without one gets one.
_SDK: dict[str, Any] = {"needs": ("settings",), "cpu": 0.5, "mem": "256M"}


def _active(store: SdkStore, selection: Selection | None) -> Installed | None:
    from gotasks.go.sdk.selection import installed_match

    return installed_match(store, selection.request) if selection else None


@task(
    name="list",
    **_SDK,
    help={"remote": "list the releases the sources offer", "all": "with --remote: prereleases too"},
)
def list_sdks(c: Context, remote: bool = False, all: bool = False, go: str | None = None) -> None:
    """Installed Go SDKs (* the one this project uses), or with --remote what can be installed."""
    from gotasks.go.sdk.releases import go_name
    from gotasks.go.sdk.store import OLD_PREFIX, TEMP_PREFIX
    from gotasks.sdkconfig import platform_of, store_of

    settings = settings_of(c.config)
    store = store_of(settings, os.environ, platform_of(settings))
    if store.root.exists() and not store.root.is_dir():
        raise UsageError(f"the SDK root {store.root} is not a folder (sdk.root, $GOTASKS_SDK_ROOT)")
    installed = store.installed()
    if remote:
        _list_remote(settings, store, installed, all)
        return
    selection = selection_of(settings, go)
    active = _active(store_of(settings, os.environ), selection)  # what a run here would use
    print(f"SDK root: {store.root}")
    if not installed:
        print("no Go SDK installed (inv sdk.install VERSION)")
    for sdk in reversed(installed):
        mark = "*" if active is not None and sdk.path == active.path else " "
        why = f"  <- {selection.origin}" if mark == "*" and selection else ""
        print(f"{mark} {go_name(sdk.version):<14} {sdk.path}{why}")
    if selection is None:
        print("this project asks for no version: the go on PATH is used")
    elif active is None:
        on_path = matching_path_go(selection, settings.root)
        if on_path is not None:
            print(
                f"* {on_path.version_text:<14} {on_path.goroot} (the go on PATH)"
                f"  <- {selection.origin}"
            )
        else:
            print(f"this project asks for {selection.request} ({selection.origin}): not installed")
    for path in store.broken():
        console.warn(f"incomplete, never used: {path} (inv sdk.remove {path.name})")
    for path in store.leftovers():
        version = path.name.removeprefix(TEMP_PREFIX).removeprefix(OLD_PREFIX).split("-")[0]
        console.warn(
            f"left by an interrupted install: {path} (`inv sdk.install {version}` clears it)"
        )


def _list_remote(
    settings: Settings, store: SdkStore, installed: list[Installed], everything: bool
) -> None:
    from gotasks.go.sdk.fetch import SourceError
    from gotasks.sdkconfig import platform_of, sources_of

    platform = platform_of(settings)
    have = {sdk.version for sdk in installed}
    errors = []
    for source in sources_of(settings, os.environ, platform, store):
        try:
            versions = source.versions()
        except SourceError as error:
            errors.append(str(error))
            console.warn(f"skipped {error}")
            continue
        lines: dict[tuple[int, int], list[GoVersion]] = defaultdict(list)
        for version, stable in set(versions):
            if stable or everything:
                lines[(version.major, version.minor)].append(version)
        print(f"Go releases for {platform} from {source.name} (* installed):")
        for line in sorted(lines, reverse=True):
            words = [f"{v}{'*' if v in have else ''}" for v in sorted(lines[line], reverse=True)]
            print(f"  {line[0]}.{line[1]:<3} {' '.join(words)}")
        return
    raise SourceError("no source answered: " + "; ".join(errors))


@task(
    **_SDK,
    positional=["version"],
    help={
        "version": "1.22.5, go1.22.5, 1.22 (its newest patch) or latest",
        "force": "install again even when installed (verified again; the cache is reused)",
    },
)
def install(c: Context, version: str, force: bool = False) -> None:
    """Download, verify (size, SHA-256), extract, smoke-test and activate a Go SDK."""
    from gotasks.go.sdk.releases import VersionRequest, go_name
    from gotasks.sdkconfig import installer_of

    settings = settings_of(c.config)
    request = VersionRequest.parse(version)
    sdk = installer_of(settings, os.environ).install(request, force=force)
    console.ok(f"{go_name(sdk.version)} in {sdk.path}")


@task(
    **_SDK,
    positional=["version"],
    help={"version": "an installed version: 1.22.5, or 1.22 for its newest installed patch"},
)
def use(c: Context, version: str, install: bool = False) -> None:
    """Make this project use a Go SDK: writes .go-version (with --install, installs it first)."""
    from gotasks.go.sdk.releases import VersionRequest
    from gotasks.go.sdk.selection import GO_VERSION_FILE, installed_match
    from gotasks.sdkconfig import installer_of, store_of

    settings = settings_of(c.config)
    store = store_of(settings, os.environ)
    request = VersionRequest.parse(version)
    sdk = installed_match(store, request)
    if sdk is None:
        if not install:
            raise UsageError(
                f"Go {request} is not installed: run `inv sdk.install {request}`,"
                f" or `inv sdk.use --install {request}`"
            )
        sdk = installer_of(settings, os.environ).install(request)
    path = settings.root / GO_VERSION_FILE
    atomic_write_text(path, f"{sdk.version}\n")
    console.ok(f"{path.name}: {sdk.version} ({sdk.path})")


@task(
    **_SDK,
    positional=["version"],
    help={"version": "the installed version to remove, e.g. 1.22.5"},
)
def remove(c: Context, version: str) -> None:
    """Remove an installed Go SDK (its verified archive stays cached for a reinstall)."""
    from gotasks.go.sdk.releases import VersionRequest, go_name
    from gotasks.go.sdk.store import remove_tree
    from gotasks.sdkconfig import platform_of, store_of

    settings = settings_of(c.config)
    store = store_of(settings, os.environ, platform_of(settings))
    request = VersionRequest.parse(version)
    if request.exact is None:
        raise UsageError(f"name one exact version to remove, e.g. 1.22.5, not {request}")
    target = store.path(request.exact)
    # Asked before the lock: a shared read-only root says "not installed", not EROFS.
    if not target.exists() and not store.leftovers_of(request.exact):
        raise UsageError(f"Go {request.exact} is not installed in {store.root}")
    with store.lock(request.exact):
        store.clear_leftovers(request.exact)
        if not target.exists():
            console.ok(f"cleared what an interrupted install of {go_name(request.exact)} left")
            return
        # Out of the way in one rename, then deleted: a crash leaves a leftover, never
        # half an SDK under the version's name.
        aside = store.root / f"{store.aside_prefix(request.exact)}removed"
        remove_tree(aside)
        os.rename(target, aside)
        remove_tree(aside)
    console.ok(f"removed {go_name(request.exact)} ({target})")
    selection = selection_of(settings, None)
    if selection is not None and selection.request.matches(request.exact, stable=True):
        console.warn(f"this project asks for it ({selection.origin})")


@task(
    **_SDK,
    help={
        "gopath": "also a project-local GOPATH (.gotasks/gopath), its bin/ on PATH",
        "install": "install the project's version first when it is missing",
    },
)
def env(c: Context, gopath: bool = False, go: str | None = None, install: bool = False) -> None:
    """Shell exports for this project's Go SDK: eval "$(inv sdk.env)"."""
    from gotasks.go.sdk.selection import GO_VERSION_FILE
    from gotasks.sdkconfig import store_of

    settings = settings_of(c.config)
    selection = selection_of(settings, go)
    if selection is None:
        raise UsageError(
            f"this project asks for no Go version (no {GO_VERSION_FILE}, go.mod toolchain line"
            " or go.version); `inv sdk.use VERSION` picks one"
        )
    toolchain = choose_toolchain(settings, selection, install)
    store = store_of(settings, os.environ)
    bin_dirs = [str(toolchain.goroot / "bin")]
    lines = [f"export GOROOT={shlex.quote(str(toolchain.goroot))}", "export GOTOOLCHAIN=local"]
    if gopath:
        folder = settings.root / ".gotasks" / "gopath"
        lines.append(f"export GOPATH={shlex.quote(str(folder))}")
        bin_dirs.append(str(folder / "bin"))
    # Built from the shell's own $PATH when eval runs it (not from this process's, which a
    # pyenv shim or a venv may have changed), less any SDK's bin/ an earlier eval put there:
    # switching never stacks.
    # An entry is dropped when it is one of ours exactly, or lies under the SDK root (awk's
    # index() == 1: a prefix, not a substring); empty entries (the current folder) too.
    first, second = [*bin_dirs, ""][:2]
    keep = (
        f"awk -v r={shlex.quote(str(store.root) + '/')}"
        f" -v a={shlex.quote(first)} -v b={shlex.quote(second)}"
        " '$0 != \"\" && $0 != a && $0 != b && index($0, r) != 1'"
    )
    front = shlex.quote(":".join(bin_dirs))
    rest = f"printf '%s\\n' \"$PATH\" | tr : '\\n' | {keep} | paste -sd: - | sed 's/^./:&/'"
    lines.append(f'export PATH={front}"$({rest})"')
    print("\n".join(lines))


def collection() -> Collection:
    sdk = Collection("sdk")
    for item in (list_sdks, install, use, remove, env):
        sdk.add_task(item)
    return sdk
