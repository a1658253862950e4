"""`inv build`: the GOOS/GOARCH matrix, reproducible, with version data from git."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import dry_run, go, module_of, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.units import format_duration
from gotasks.engine import task
from gotasks.engine.output import report_progress
from gotasks.engine.procs import bound
from gotasks.gobuild import (
    cgo_env,
    dist_locked,
    main_listing,
    select_package,
    stamp_ldflags,
)
from gotasks.paths import dist_dir, dist_lock

if TYPE_CHECKING:
    from gotasks import fresh
    from gotasks.engine.freshness import UpToDate
    from gotasks.go.modules import Module
    from gotasks.go.stamps import Package


@task(
    dry=True,
    cpu=2,
    mem="2G",
    pool="build",
    each="module",
    iterable=["target"],
    help={
        "verify": "build everything twice in two fresh folders (the second from an empty"
        " build cache) and fail unless every binary is byte-identical",
        "module": "only this module (its folder or module path); default: every module",
        "host": "only this machine's GOOS/GOARCH (go env GOHOSTOS GOHOSTARCH)",
        "target": "only this GOOS/GOARCH, e.g. linux/arm64 (repeat it, or separate with"
        " commas); default: build.targets",
        "package": "only this main package, e.g. ./cmd/hello; default: build.packages",
    },
)
def build(
    c: Context,
    verify: bool = False,
    module: str | None = None,
    host: bool = False,
    target: list[str] | None = None,
    package: str | None = None,
) -> UpToDate | None:
    """Build every main package for each GOOS/GOARCH target into dist/, with SHA256SUMS."""
    from gotasks.engine.threads import map_in_task
    from gotasks.go import dist as dist_folder
    from gotasks.go.artifacts import SUMS

    assert module is not None
    mod = module_of(c, module)
    targets = chosen_targets(c, host, target or [])
    root = settings_of(c.config).root
    dist, lock = dist_dir(root), dist_lock(root)
    # What a killed build left (a half-done swap, scratch folders) goes first, even if
    # this build then fails: dist/ is whole again after any run (a dry run changes nothing).
    if not dry_run(c):
        with dist_locked(lock):
            _tidy(dist)
    stamped: list[str] = []  # the key's stamps, which the build then uses (git asked once)

    def stamps() -> dict[str, str]:
        stamped.insert(0, stamp_ldflags(c, mod))
        return {"stamps": stamped[0]}

    from gotasks import fresh

    check = fresh.start(
        c,
        "build",
        mod,
        {"verify": verify, "targets": targets, "package": package},
        stamps,
        replay=lambda check, entry: _listed_in_sums(dist, entry.outputs),
    )
    if check.result is not None:
        return check.result
    ldflags = stamped[0] if stamped else stamp_ldflags(c, mod)
    listing = main_listing(c, mod)
    packages = select_package([p.import_path for p in listing], package, mod, "build")
    mains = [p for p in listing if p.import_path in packages]
    if not packages:
        console.info("no main package: nothing to build")
        check.done()
        return None
    if dry_run(c):
        check_stamps(c, mod, mains)
        # The commands a real build runs, shown with dist/ where its scratch folder would be.
        _build_matrix(c, mod, packages, targets, dist, ldflags)
        if verify:
            _build_matrix(
                c, mod, packages, targets, dist, ldflags, {"GOCACHE": "SCRATCH/verify/gocache"}
            )
        return None
    # Build into a scratch folder inside dist/ and swap it in, so a failed build
    # never leaves dist/ half-written.
    with dist_folder.scratch(dist) as scratch:
        if not verify:
            _start_from_dist(check, dist, scratch / "out", mod, packages, targets)

        def matrix() -> list[str]:
            return _build_matrix(c, mod, packages, targets, scratch / "out", ldflags, progress=True)

        # The -X check beside the builds, not before them (it may ask go list of the
        # module's other packages): with build.strict_stamps its failure still fails the
        # build before dist/ changes.
        checked, built = map_in_task(
            lambda step: step(), [lambda: check_stamps(c, mod, mains), matrix], workers=2
        )
        assert checked is None and isinstance(built, list)
        if verify:
            _verify(c, mod, packages, targets, scratch, ldflags)
        # Another run (a second `inv ci`, another module's build) may swap at the same time.
        with dist_locked(lock):
            _tidy(dist)  # a build killed since we began
            dist_folder.swap_in(scratch / "out", dist)
    for path in built:
        console.ok(f"{mod.label}: dist/{path}")
    console.info(f"checksums: dist/{SUMS}")
    check.done(outputs={f"{dist.name}/{path}": dist / path for path in built})
    return None


def _listed_in_sums(dist: Path, outputs: dict[str, str]) -> bool:
    """An up-to-date build's binaries (their sha256 checked already) are still listed
    with that sha256 in dist/SHA256SUMS, which other modules' builds rewrite."""
    from gotasks.go.artifacts import SUMS

    try:
        listed = set((dist / SUMS).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return False
    prefix = dist.name + "/"
    return all(f"{sha}  {name.removeprefix(prefix)}" in listed for name, sha in outputs.items())


def _tidy(dist: Path) -> None:
    from gotasks.go import dist as dist_folder

    for line in dist_folder.tidy(dist):
        console.warn(line)


def chosen_targets(c: Context, host: bool, flags: list[str]) -> list[str]:
    """--host, --target (repeated or comma-separated), else build.targets."""
    from gotasks.configspec import TARGET_PATTERN
    from gotasks.go.toolchain import host_target, supported_targets

    wanted = [t.strip() for flag in flags for t in flag.split(",") if t.strip()]
    if host and wanted:
        raise UsageError("build: --host and --target both say which targets: give one")
    toolchain, _ = toolchain_of(c.config)
    if host:
        return [host_target(toolchain)]
    if not wanted:
        return list(settings_of(c.config).section("build")["targets"])
    supported = supported_targets(toolchain)
    for target in wanted:
        if not re.fullmatch(TARGET_PATTERN, target):
            raise UsageError(f"--target: {target!r} is not GOOS/GOARCH (e.g. linux/arm64)")
        if supported is not None and target not in supported:
            raise UsageError(
                f"--target: {target!r} is not a target {toolchain.version_text} can build for"
                " (see `go tool dist list`)"
            )
    return list(dict.fromkeys(wanted))


def _build_matrix(
    c: Context,
    mod: Module,
    packages: list[str],
    targets: list[str],
    into: Path,
    ldflags: str,
    extra_env: dict[str, str] | None = None,
    progress: bool = False,
) -> list[str]:
    """Every package for every target into `into`, stamped with `ldflags`; with `progress`,
    the run hears which targets are done and what the running ones do (see BuildProgress)."""
    from gotasks.engine.sharding import record_durations
    from gotasks.engine.threads import map_in_task
    from gotasks.go.buildprogress import BuildProgress

    units = [(target, package) for target in targets for package in packages]

    def output_of(target: str, package: str) -> Path:
        return into / _binary_path(mod, target, package)

    processes = bound()
    tree = processes.tree if processes is not None else None
    tracker = BuildProgress([(t, output_of(t, p)) for t, p in units], tree)
    started = time.monotonic()
    took: dict[str, float] = {}  # target -> seconds its builds took (--shard's costs)
    if progress:
        report_progress(tracker)

    def build_one(unit: tuple[str, str]) -> str | None:
        target, package = unit
        goos, goarch = target.split("/")
        output = output_of(target, package)
        env = {"GOOS": goos, "GOARCH": goarch, **cgo_env(c), **(extra_env or {})}
        args = ["build", "-trimpath", "-ldflags", ldflags, "-o", str(output), package]
        began = time.monotonic()
        result = go(c, args, mod.dir, extra_env=env)
        took[target] = took.get(target, 0.0) + time.monotonic() - began
        done = tracker.finished(target, result.exited == 0)
        if progress and done:
            report_progress(tracker, f"{done} in {format_duration(time.monotonic() - started)}")
        if result.exited != 0:
            console.fail(f"go build {package} for {target}:\n{result.stderr.rstrip()}")
            return None
        return f"{output.parent.name}/{output.name}"

    # The targets build side by side, as many at once as the task claims cores.
    # A dry run shows the commands one by one, in order.
    workers = 1 if dry_run(c) else int(build.claims.cpu)
    try:
        built = map_in_task(build_one, units, workers=workers)
    finally:
        if progress:
            report_progress(None)
    if progress:  # the build itself, not a dry run's echo or --verify's second build
        record_durations(c.config, {build_unit(mod, t): took[t] for t in took})
    failed = [f"{p} for {t}" for (t, p), out in zip(units, built, strict=True) if out is None]
    if failed:
        raise TaskFailed(f"build {mod.label}: {'; '.join(failed)} failed")
    return [out for out in built if out is not None]


def _binary_path(mod: Module, target: str, package: str) -> str:
    """Where a package's binary for a target goes, under dist/ or a scratch folder's out/:
    hello_linux_arm64/hello."""
    from gotasks.go.artifacts import binary_name

    goos, goarch = target.split("/")
    return f"{mod.name}_{goos}_{goarch}/{binary_name(package, goos)}"


def _start_from_dist(
    check: fresh.Check,
    dist: Path,
    out: Path,
    mod: Module,
    packages: list[str],
    targets: list[str],
) -> None:
    """Each binary of dist/ that is still byte for byte what a recorded success of this
    build put there, copied to where this build writes it. `go build -o` leaves a binary
    whose build ID says it is what the link would make (the same packages, flags, tools:
    Go's own up-to-date check, the one that spares make its links) and links again
    otherwise; built into an empty folder, every build linked every binary again, whatever
    changed. A binary changed by hand is not copied (go reads only its build ID)."""
    import shutil

    for target in targets:
        for package in packages:
            rel = _binary_path(mod, target, package)
            if not check.recorded_output(f"{dist.name}/{rel}", dist / rel):
                continue
            try:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(dist / rel, out / rel)
            except OSError:
                (out / rel).unlink(missing_ok=True)  # go builds it afresh


def build_unit(mod: Module, target: str) -> str:
    """A target's unit for --shard, and its durations' name in history: build[hello] linux/arm64."""
    return f"build[{mod.label}] {target}"


def check_stamps(c: Context, mod: Module, mains: list[Package]) -> None:
    """Every build.version_vars -X target must be a string variable of each main package
    (the linker ignores one that is not, silently): a warning per package naming the
    variables it does have, or with build.strict_stamps a failure (the same line). The
    main packages' files and dependencies come from main_listing's go list."""
    from gotasks.go.stamps import grouped, parse_go_list, stamp_problems
    from gotasks.gobuild import MAIN_FIELDS

    config = settings_of(c.config).section("build")

    def go_list(args: list[str]) -> str:
        result = go(c, args, mod.dir, read_only=True)
        if result.exited != 0 and not result.stdout.strip():
            raise TaskFailed(f"build {mod.label}: go {' '.join(args[:2])} failed")
        return str(result.stdout)

    symbols = [symbol for symbol in config["version_vars"].values() if symbol]
    if any(not symbol.startswith("main.") for symbol in symbols):
        # Whether a main package reaches a target's package may go through a module whose
        # files the remembered listing's key does not hold (a local replace): asked now.
        paths = [main.import_path for main in mains]
        mains = parse_go_list(go_list(["list", "-e", f"-json={MAIN_FIELDS}", "--", *paths]))
    lines = grouped(stamp_problems(mains, config["version_vars"], go_list))
    if lines and config["strict_stamps"]:
        raise TaskFailed(f"build {mod.label}: " + "; ".join(lines) + " (build.strict_stamps)")
    for line in lines:
        console.warn(line)


def _verify(
    c: Context, mod: Module, packages: list[str], targets: list[str], scratch: Path, ldflags: str
) -> None:
    """Rebuild into another folder from an empty build cache and compare every byte."""
    from gotasks.go.artifacts import differing_files
    from gotasks.go.sdk.store import remove_tree

    # In the build's own scratch folder, not /tmp: a killed build's cache (hundreds of MB)
    # goes with the rest of what it left.
    second = scratch / "verify"
    cache = {"GOCACHE": str(second / "gocache")}
    _build_matrix(c, mod, packages, targets, second / "out", ldflags, cache)
    differ = differing_files(scratch / "out", second / "out")
    remove_tree(second)
    if differ:
        raise TaskFailed(
            f"build {mod.label}: not reproducible; differs between two builds: " + ", ".join(differ)
        )
    console.ok(f"{mod.label}: reproducible (two builds byte-identical)")
