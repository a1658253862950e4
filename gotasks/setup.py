"""`inv setup`: a fresh clone to a green `inv ci` with one command, and bundles that do it
with no network (`--export BUNDLE.tar`, `--from BUNDLE.tar`).

The stages are tasks of one graph, so the scheduler runs them under its claims:

    setup.go  ->  setup.modules[each module]  ->  setup.tools[each module]  \\
                  setup.hook  ---------------------------------------------- > setup.doctor -> setup

Each stage first checks, without starting go where it can, whether its work is already
done (the SDK's marker, every go.sum file in the module cache, a stamp of the tools built
for this go.mod/go.sum/go), so a second run on a ready machine does nothing. Stages run in
threads of one process with configs cloned per task: what they measure (times, bytes
fetched and reused) meets in one ledger (`setupledger.py`), which `setup.go`, the first
stage, starts afresh. The work behind the stages: `setupgo.py` (the Go), `setupenv.py` (the
go the stages run and its environment), `setuphook.py`, `setupexport.py` (`--export`),
`setupstamps.py` (what a second run finds done).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import module_of, modules_of, run_tool, selection_of, settings_of
from gotasks.core import console
from gotasks.core.cancel import check_stop
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.units import format_duration, format_size
from gotasks.engine import ResourceTask, task
from gotasks.paths import state_dir
from gotasks.setupledger import current, say, start, timed

if TYPE_CHECKING:
    from gotasks.go.modules import Module
    from gotasks.settings import Settings

# What the stages do (the Go, its environment, the hook, the bundle) is imported in their
# bodies: `inv --list` and every other command do not pay for setup's code.

# -- the go the project selects -------------------------------------------------------


@task(
    name="go",
    needs=("settings",),
    cpu=0.5,
    mem="256M",
    help={"from_": "install from this setup bundle (inv setup --export), with no network"},
)
def go_stage(c: Context, from_: str | None = None, go: str | None = None) -> None:
    """Setup's first stage: the go this project selects, installed when missing."""
    from gotasks.go.gosum import read_sums, where_of
    from gotasks.setupenv import sum_files
    from gotasks.setupgo import ensure_go

    ledger = start()
    settings = settings_of(c.config)
    selection = selection_of(settings, go)
    if not from_:
        with timed("go") as result:
            toolchain, note, worked = ensure_go(settings, selection)
            result.append((note, worked))
    else:
        from gotasks.go.bundleunpack import Unpacking

        bundle = Path(from_).expanduser().absolute()
        sums = read_sums(settings.root, sum_files(settings, modules_of(c.config)))
        where = where_of(sums)
        lines = [line for line, _ in sums]
        dest = state_dir(settings.root) / "bundle"
        ledger.source = "bundle"
        unpacking = Unpacking(
            bundle, dest, lines, lambda line: where.get(line, "go.sum"), check_stop
        )
        with timed("bundle") as result:
            unpacking.start()
            size = format_size(bundle.stat().st_size)
            result.append((f"{bundle.name} ({size}) unpacked, its SDK archive checked", True))
        # The module files are hashed against go.sum while the SDK installs, which waits
        # for them before it is put in place: a bundle refused leaves nothing installed.
        with unpacking:
            with timed("go") as result:
                assert unpacking.pending is not None
                toolchain, note, worked = ensure_go(
                    settings, selection, unpacking.pending, unpacking.checked
                )
                result.append((note, worked))
            with timed("bundle check") as result:
                ledger.bundle = unpacking.commit()
                lines_checked = len(unpacking.lines)
                result.append((f"its module files match go.sum ({lines_checked} lines)", True))
    ledger.toolchain = toolchain
    ledger.selected = selection is not None


# -- modules ----------------------------------------------------------------------------


@task(
    name="modules",
    pre=[go_stage],
    each="module",
    needs=("settings",),
    cpu=0.5,
    mem="512M",
    help={
        "module": "only this module (its folder or module path); default: every module",
        "from_": "download from this setup bundle, with no network",
    },
)
def modules_stage(c: Context, module: str | None = None, from_: str | None = None) -> None:
    """Setup's `go mod download` of one module, skipped when its go.sum is all in the cache."""
    assert module is not None
    settings = settings_of(c.config)
    mod = module_of(c, module)
    with timed(f"modules {mod.label}") as result:
        result.append(_download(c, settings, mod))


def _download(c: Context, settings: Settings, mod: Module) -> tuple[str, bool]:
    from gotasks.go.gosum import read_sums
    from gotasks.setupenv import go_env, modcache
    from gotasks.setupstamps import file_sizes, read_stamp, stamp_key, stamp_path, write_stamp

    go_sum = mod.dir / "go.sum"
    if not go_sum.is_file():
        return "no go.sum: no dependencies to download", False
    ledger = current()
    toolchain, env = go_env(settings)
    lines = [line for line, _ in read_sums(settings.root, [go_sum])]
    download = modcache(toolchain, env) / "cache" / "download"
    wanted = sorted({line.file for line in lines})
    stamp = stamp_path(settings.root, f"modules-{mod.name}")
    key = stamp_key(go_sum.read_bytes(), str(download))
    written = read_stamp(stamp)
    kept = written.get("files") if written.get("key") == key else None
    before = file_sizes(download, wanted)
    if len(before) == len(wanted) or (isinstance(kept, list) and all(f in before for f in kept)):
        ledger.count({}, before)
        return f"ready: {len(before)} files in the module cache", False
    if ledger.bundle is not None:
        # The bundle's files, checked against go.sum as it was unpacked, go straight into
        # the module cache with their hashes: go extracts them without hashing them again.
        ledger.bundle.seed(download, lines)
    out = run_tool(c, [str(toolchain.go), "mod", "download"], mod.dir, extra_env=env)
    if out.exited != 0:
        text = (out.stdout + out.stderr).strip()
        console.info(text)
        last = text.splitlines()[-1] if text else f"exit {out.exited}"
        hint = (
            " (the bundle lacks it: export it again where `inv setup` passed)"
            if ledger.bundle is not None
            else ""
        )
        raise TaskFailed(f"setup: go mod download failed in {mod.rel}: {last}{hint}")
    after = file_sizes(download, wanted)
    fetched = {k: v for k, v in after.items() if k not in before}
    ledger.count(fetched, before)
    write_stamp(stamp, {"key": key, "files": sorted(after)})
    return (
        f"{len(fetched)} files ({format_size(sum(fetched.values()))}) from the {ledger.source},"
        f" {len(before)} already cached",
        True,
    )


# -- tools ------------------------------------------------------------------------------


@task(
    name="tools",
    pre=[modules_stage],
    each="module",
    needs=("settings",),
    cpu=1,
    mem="1G",
    pool="build",
    help={"module": "only this module (its folder or module path); default: every module"},
)
def tools_stage(c: Context, module: str | None = None) -> None:
    """Setup's build of the tools a module's go.mod declares (into the build cache, once)."""
    assert module is not None
    settings = settings_of(c.config)
    mod = module_of(c, module)
    with timed(f"tools {mod.label}") as result:
        result.append(_build_tools(c, settings, mod))


def _build_tools(c: Context, settings: Settings, mod: Module) -> tuple[str, bool]:
    from gotasks.go.gotools import parse_tools
    from gotasks.setupenv import go_env
    from gotasks.setupstamps import read_stamp, stamp_key, stamp_path, write_stamp

    go_mod = mod.dir / "go.mod"
    go_sum = mod.dir / "go.sum"
    if b"tool" not in go_mod.read_bytes():
        return "none declared", False
    toolchain, env = go_env(settings)
    stamp = stamp_path(settings.root, f"tools-{mod.name}")
    key = stamp_key(
        go_mod.read_bytes(),
        go_sum.read_bytes() if go_sum.is_file() else b"",
        str(toolchain.go),
        toolchain.version_text,
        env.get("GOFLAGS", ""),
    )
    written = read_stamp(stamp)
    built = written.get("built") if written.get("key") == key else None
    if isinstance(built, dict) and all(Path(str(p)).is_file() for p in built.values()):
        return (f"ready: {', '.join(sorted(built))} built" if built else "none declared"), False
    edit = run_tool(c, [str(toolchain.go), "mod", "edit", "-json"], mod.dir, extra_env=env)
    if edit.exited != 0:
        raise UsageError(f"{mod.rel}/go.mod: {(edit.stderr.strip().splitlines() or ['?'])[-1]}")
    declared = parse_tools(edit.stdout)
    if not declared:
        write_stamp(stamp, {"key": key, "built": {}})
        return "none declared", False
    executables: dict[str, str] = {}
    for package in declared:
        check_stop()
        # `go tool -n` builds the tool into the build cache and prints where, as `go tool`
        # then runs it.
        out = run_tool(c, [str(toolchain.go), "tool", "-n", package], mod.dir, extra_env=env)
        if out.exited != 0:
            console.info((out.stdout + out.stderr).strip())
            raise TaskFailed(f"setup: building the tool {package} failed in {mod.rel}")
        executables[package] = out.stdout.strip().splitlines()[-1]
    write_stamp(stamp, {"key": key, "built": executables})
    return f"built {', '.join(sorted(executables))}", True


# -- the git hook and doctor ---------------------------------------------------------


@task(name="hook", needs=("settings",), cpu=0.2, mem="128M")
def hook_stage(c: Context) -> None:
    """Setup's git hook: the pre-commit framework's when the repository has its config,
    else gotasks' plain hook; a hook someone else wrote is left alone."""
    from gotasks.setuphook import ensure_hook

    settings = settings_of(c.config)
    with timed("hook") as result:
        result.append(ensure_hook(c, settings.root, _INJECTED["install_hook"]))


# -- the whole ---------------------------------------------------------------


@task(name="doctor", pre=[tools_stage, hook_stage], needs=("settings",), cpu=0.5, mem="256M")
def doctor_stage(c: Context) -> None:
    """Setup's last stage: `inv doctor`, when an earlier stage changed something."""
    ledger = current()
    if not ledger.worked and ledger.stages:
        say("doctor", 0.0, "skipped: nothing changed")
        return
    with timed("doctor") as result:
        _INJECTED["doctor"](c)
        result.append(("every check passed", False))


@task(
    name="setup",
    pre=[doctor_stage],
    needs=("settings",),
    cpu=0.2,
    mem="256M",
    forwards=("from_",),
    help={
        "export": "then write everything a machine needs into this .tar (SDK, modules)",
        "from_": "restore from a bundle written by --export: no network",
    },
)
def setup(c: Context, export: str | None = None, from_: str | None = None) -> None:
    """Bring this machine to a green `inv ci`: Go, modules, tools, git hook, doctor."""
    from gotasks.setupexport import export as export_bundle

    settings = settings_of(c.config)
    if export:
        with timed("export") as result:
            out = Path(export).expanduser().absolute()
            result.append((export_bundle(c, settings, modules_of(c.config), out), True))
    ledger = current()
    total = time.monotonic() - ledger.t0
    fetched, reused = ledger.fetched, ledger.reused
    print(
        f"setup: done in {format_duration(total)}; from the {ledger.source}:"
        f" {len(fetched)} files ({format_size(sum(fetched.values()))}); reused from caches:"
        f" {len(reused)} files ({format_size(sum(reused.values()))})",
        flush=True,
    )
    if not ledger.worked:
        console.ok("ready: nothing to do")


# `inv doctor` and `inv hooks.install`, handed in by the namespace: no task module imports
# another (see ARCHITECTURE.md).
_INJECTED: dict[str, ResourceTask] = {}


def collection(doctor: ResourceTask, install_hook: ResourceTask) -> Collection:
    _INJECTED.update(doctor=doctor, install_hook=install_hook)
    stages = Collection("setup")
    stages.add_task(setup, default=True)
    for stage in (go_stage, modules_stage, tools_stage, hook_stage, doctor_stage):
        stages.add_task(stage)
    return stages
