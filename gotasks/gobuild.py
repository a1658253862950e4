"""What the tasks that build Go binaries share (build, install, run, docker.build): the
main packages, their version stamps and cgo setting, and the dist/ lock."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.context import Context

from gotasks.context import go, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.files import locked

if TYPE_CHECKING:
    from gotasks.go.modules import Module
    from gotasks.go.stamps import Package


def dist_locked(lock: Path) -> AbstractContextManager[None]:
    """The dist lock, saying so when another run holds it."""
    return locked(lock, lambda: console.info(f"waiting for {lock}: another run is changing dist/"))


def select_package(packages: list[str], wanted: str | None, mod: Module, task: str) -> list[str]:
    """The main packages a --package flag names (./cmd/x, cmd/x or its import path); all
    of them without one. None matching: one line listing the main packages there are."""
    if not wanted:
        return packages
    rel = wanted.removeprefix("./").rstrip("/")
    chosen = [p for p in packages if p == rel or p == f"{mod.path}/{rel}" or p.endswith("/" + rel)]
    if rel in ("", "."):
        chosen = [p for p in packages if p == mod.path]
    if not chosen:
        known = ", ".join(relative_package(p, mod.path) for p in packages) or "none"
        raise UsageError(f"{task} {mod.label}: no main package {wanted!r}; main packages: {known}")
    return chosen


def relative_package(import_path: str, module_path: str) -> str:
    """example.com/hello/cmd/x -> ./cmd/x (the module's own package: .)."""
    if import_path == module_path:
        return "."
    rel = import_path.removeprefix(module_path + "/")
    # a path outside the module (example.com/hello2 beside example.com/hello) stays whole
    return f"./{rel}" if rel != import_path else import_path


def main_packages(c: Context, mod: Module) -> list[str]:
    """The main packages matching build.packages (default ./...), by import path."""
    return [package.import_path for package in main_listing(c, mod)]


# What `inv build`'s -X check (build.check_stamps) reads of each main package.
MAIN_FIELDS = "ImportPath,Name,Dir,GoFiles,Deps,Module"


def main_listing(c: Context, mod: Module) -> list[Package]:
    """The main packages matching build.packages (default ./...), with their Go files and
    dependencies (what the -X check reads): one `go list`, asked again only when what
    decides its answer changed (lookups.main_packages_of)."""
    from gotasks.fresh import fresh_cache
    from gotasks.go.artifacts import short_name
    from gotasks.go.stamps import go_list_items, package_of
    from gotasks.lookups import main_packages_of

    settings = settings_of(c.config)
    patterns: list[str] = settings.section("build")["packages"] or ["./..."]

    def go_list() -> list[dict[str, Any]]:
        # Read-only: it runs in a dry run too, which then shows the builds it would start.
        args = ["list", f"-json={MAIN_FIELDS}", "--", *patterns]
        result = go(c, args, mod.dir, read_only=True)
        if result.exited != 0:
            console.fail("go list:")
            console.info(result.stderr.rstrip())
            raise TaskFailed(f"build {mod.label}: go list {' '.join(patterns)} failed")
        return [item for item in go_list_items(result.stdout) if item.get("Name") == "main"]

    def checked(value: Any) -> list[dict[str, Any]]:
        """A remembered answer read back: its shape checked (a wrong one is a miss)."""
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise ValueError("not a list of packages")
        if not all(package_of(item).import_path for item in value):
            raise ValueError("a package without an import path")
        return value

    toolchain, _ = toolchain_of(c.config)
    # Asked of go only when the module's Go files' headers, the Go settings or the go changed.
    listed = main_packages_of(
        settings.root,
        mod.dir,
        toolchain,
        c.config.run.env,
        patterns,
        go_list,
        checked,
        fresh_cache(c),
    )
    packages = [package_of(item) for item in listed]
    by_name: dict[str, list[str]] = {}
    for package in packages:
        by_name.setdefault(short_name(package.import_path), []).append(package.import_path)
    clashes = [names for names in by_name.values() if len(names) > 1]
    if clashes:
        raise UsageError(
            f"build {mod.label}: these main packages would overwrite each other's binary: "
            + "; ".join(" and ".join(names) for names in clashes)
            + " (narrow build.packages)"
        )
    return packages


def stamp_ldflags(c: Context, mod: Module) -> str:
    """-ldflags with the version stamps (git and toolchain data, build.version_vars)."""
    from gotasks.go.buildinfo import read_vcs, version_ldflags

    config = settings_of(c.config).section("build")
    toolchain, _ = toolchain_of(c.config)
    vcs = read_vcs(mod.dir)
    return version_ldflags(vcs, toolchain.version_text, config["version_vars"], config["ldflags"])


def cgo_env(c: Context) -> dict[str, str]:
    """CGO_ENABLED as build.cgo says."""
    return {"CGO_ENABLED": "1" if settings_of(c.config).section("build")["cgo"] else "0"}
