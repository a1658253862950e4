"""`inv bench`: Go benchmarks run alone, saved per env and commit, compared with the last run
or, with --against REF, with REF measured interleaved; --fail-on gates on the result."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import dry_run, go, module_header, module_of, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError, describe
from gotasks.core.files import (
    atomic_write_text,
    naming,
    read_regular_text,
    regular_stat,
    set_aside,
)
from gotasks.engine import task
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.benchref import Ref
    from gotasks.engine.machineload import Load
    from gotasks.go.benchfmt import BenchResult
    from gotasks.go.modules import Module

# Header keys that differ between two runs being compared; benchstat must not group by them.
VARYING_KEYS = ("commit", "dirty", "go", "tags")


@task(
    dry=True,
    cpu=2,
    mem="2G",
    pool="bench",
    exclusive=True,
    each="module",
    help={
        "pattern": "benchmarks matching this regexp (go test -bench); default from config",
        "count": "runs of each benchmark (go test -count); 0 (default): bench.count from config",
        "benchtime": "time or iterations per run, e.g. 2s or 1000x; default from config",
        "against": "a commit, tag or branch: build it in a temporary git worktree and run both"
        " sides interleaved (or a saved run: its file, or a name no ref has)",
        "fail_on": "fail when a benchmark is significantly slower by more than this percentage;"
        " a spread above it is inconclusive; default bench.fail_on",
        "module": "only this module (its folder or module path); default: every module",
    },
)
def bench(
    c: Context,
    pattern: str | None = None,
    count: int = 0,
    benchtime: str | None = None,
    against: str | None = None,
    fail_on: str | None = None,
    module: str | None = None,
) -> None:
    """Run benchmarks with -benchmem, save them, compare with the last run or with a REF."""
    from gotasks.benchref import run_interleaved
    from gotasks.engine.machineload import LoadWatch
    from gotasks.go.benchfmt import parse

    assert module is not None
    mod = module_of(c, module)
    settings = settings_of(c.config)
    config = settings.section("bench")
    if count < 0:
        raise UsageError(f"--count must be 1 or more, got {count}")
    runs = count or config["count"]
    threshold = _threshold(fail_on, config["fail_on"])
    # --against is checked before minutes of benchmarks, not after.
    chosen_run, ref = _against(c, mod, against) if against else (None, None)
    pattern = pattern or config["pattern"]
    benchtime = benchtime or config["benchtime"]
    if ref is not None:
        module_header(c, "bench", mod, f", {runs} rounds against {ref.name}")
        if dry_run(c):
            # Nothing is checked out or built: the plan says what would be.
            console.info(f"would check out {ref.commit} in a temporary git worktree, build both")
            console.info(f"sides' test binaries with go test -c and run them {runs} rounds, A B")
            return
        watch = LoadWatch()
        flags = ["-test.run=^$", f"-test.bench={pattern}", "-test.benchmem", "-test.count=1"]
        flags.append(f"-test.benchtime={benchtime}")
        old, new = run_interleaved(c, mod, ref, config["packages"], flags, runs)
        load = watch.stop()
        if not parse(new) or not parse(old):
            side = "the work tree" if not parse(new) else ref.name
            console.warn(f"{mod.label}: no benchmark matched in {side}; nothing saved")
            return
        ref_saved = _save(c, mod, old, VcsFacts(ref.commit, dirty=False))
        saved = _save(c, mod, new)
        if saved == ref_saved:  # REF is the work tree's own commit: its run is now ~prev
            ref_saved = saved.with_name(f"{saved.stem}~prev.txt")
        console.info(f"saved: {ref_saved} ({ref.name}), {saved} (work tree)")
        gate = _Gate(float(config["alpha"]), threshold, load)
        _compare(c, mod, (ref_saved, parse(old)), (saved, parse(new)), gate)
        return
    module_header(c, "bench", mod, f", -count {runs}")
    args = ["test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", str(runs)]
    args += ["-benchtime", benchtime, *config["packages"]]
    watch = LoadWatch()
    result = go(c, args, mod.dir, hide=False)
    if dry_run(c):
        return  # nothing ran: nothing to save or compare
    load = watch.stop()
    if result.exited != 0:
        raise TaskFailed(f"bench {mod.label}: go test -bench failed (exit {result.exited})")
    if not parse(result.stdout):
        console.warn(f"{mod.label}: no benchmark matched; nothing saved")
        return
    saved = _save(c, mod, result.stdout)
    console.info(f"saved: {saved}")
    if chosen_run and chosen_run[0] == saved:  # the run chosen was this commit's, now ~prev
        chosen_run = (saved.with_name(f"{saved.stem}~prev.txt"), chosen_run[1])
    baseline = chosen_run or _previous(saved)
    if baseline is None:
        console.info(load.describe())
        console.info("no earlier run for this env and module: this run is the baseline")
        return
    gate = _Gate(float(config["alpha"]), threshold, load)
    _compare(c, mod, baseline, (saved, parse(result.stdout)), gate)


def _against(
    c: Context, mod: Module, against: str
) -> tuple[tuple[Path, list[BenchResult]] | None, Ref | None]:
    """--against: a saved run's file; else a git REF (measured afresh, interleaved); else a
    saved run named by a prefix that is no ref (`3f2a9c1-dirty`, `nogit`, outside git)."""
    from gotasks.benchref import resolve_ref

    wanted = Path(against)
    if (wanted.exists() or wanted.is_symlink()) and not wanted.is_dir():
        return (wanted, _read_run(wanted)), None
    try:
        return None, resolve_ref(mod, against)
    except UsageError as not_a_ref:
        try:
            chosen = _chosen_baseline(_runs_folder(c, mod), against)
        except UsageError:
            raise not_a_ref from None
        return (chosen, _read_run(chosen)), None


def _threshold(flag: str | None, configured: float | None) -> float | None:
    """--fail-on PERCENT (a bare number or with %), else bench.fail_on, else none."""
    if flag is None:
        return None if configured is None else float(configured)
    try:
        value = float(flag.strip().removesuffix("%"))
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"--fail-on: expected a percentage above 0 (e.g. 10), got {flag!r}")
    return value


@dataclass(frozen=True)
class VcsFacts:
    """The commit a run measured, and whether the work tree had changes."""

    commit: str
    dirty: bool


@dataclass(frozen=True)
class _Gate:
    """What a comparison is judged by, and the load the run saw."""

    alpha: float
    fail_on: float | None
    load: Load


def _save(c: Context, mod: Module, output: str, facts: VcsFacts | None = None) -> Path:
    """.gotasks/bench/<env>/<module>/<commit>[-dirty].txt, with the run's facts as config lines.

    `facts`: the commit measured, when it is not the work tree's (--against REF)."""
    from gotasks.go.buildinfo import read_vcs

    settings = settings_of(c.config)
    toolchain, environment = toolchain_of(c.config)
    if facts is None:
        vcs = read_vcs(mod.dir)
        facts = None if vcs is None else VcsFacts(vcs.commit, vcs.dirty)
    key = "nogit" if facts is None else facts.commit[:12] + ("-dirty" if facts.dirty else "")
    header = {
        "commit": facts.commit if facts else "unknown",
        "dirty": str(facts.dirty).lower() if facts else "unknown",
        "env": settings.env,
        "go": toolchain.version_text,
        "tags": ",".join(environment.tags),
        "module": mod.path,
    }
    text = "".join(f"{k}: {v}\n" for k, v in header.items()) + output
    path = _runs_folder(c, mod) / f"{key}.txt"
    # The new run is written whole (under a name no glob of *.txt sees) before anything
    # moves: a full disk leaves the older runs as they were. A rerun at the same commit
    # then keeps the run before it as ~prev, so there is still a baseline.
    staged = path.with_name(f".{key}.txt.new")
    with naming(path):
        atomic_write_text(staged, text)
        try:
            if path.exists() or path.is_symlink():
                os.replace(path, path.with_name(f"{key}~prev.txt"))
            os.replace(staged, path)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
    return path


def _runs_folder(c: Context, mod: Module) -> Path:
    settings = settings_of(c.config)
    return state_dir(settings.root) / "bench" / settings.env / mod.name


def _chosen_baseline(folder: Path, against: str) -> Path:
    """The saved run whose name starts with `against` (a commit prefix)."""
    runs = _saved_runs(folder)
    matches = [p for p in runs if p.stem.startswith(against)]
    if not matches:
        known = ", ".join(p.stem for p in sorted(runs)) or "none"
        raise UsageError(f"--against {against!r}: no saved run matches; saved in {folder}: {known}")
    exact = [p for p in matches if p.stem == against]
    return exact[0] if exact else max(matches, key=runs.__getitem__)


def _saved_runs(folder: Path) -> dict[Path, int]:
    """The saved runs in folder with their mtimes; an entry that is not a regular file (a
    FIFO, a device, a dangling or looping link) is set aside, so it fails no later run."""
    runs: dict[Path, int] = {}
    for path in folder.glob("*.txt"):
        try:
            runs[path] = regular_stat(path).st_mtime_ns
        except FileNotFoundError:
            continue  # gone since the listing (another run set it aside)
        except OSError as error:
            set_aside(path, error.strerror or describe(error), unmoved="skipped")
    return runs


def _previous(saved: Path) -> tuple[Path, list[BenchResult]] | None:
    """The newest sound saved run other than `saved`; damaged ones met on the way are set
    aside with a warning and the next newest is taken."""
    runs = _saved_runs(saved.parent)
    for path in sorted((p for p in runs if p != saved), key=runs.__getitem__, reverse=True):
        try:
            return path, _read_run(path)
        except UsageError as error:
            set_aside(path, str(error).removeprefix(f"{path}: "), unmoved="skipped")
    return None


def _read_run(path: Path) -> list[BenchResult]:
    """A saved run's results; UsageError (naming the file) if it is not one: not a regular
    file, not UTF-8, or without a single benchmark line."""
    from gotasks.go.benchfmt import parse

    try:
        results = parse(read_regular_text(path))
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text (byte {error.start})") from None
    if not results:
        raise UsageError(f"{path}: holds no benchmark results")
    return results


def _compare(
    c: Context,
    mod: Module,
    old_run: tuple[Path, list[BenchResult]],
    new_run: tuple[Path, list[BenchResult]],
    gate: _Gate,
) -> None:
    """The comparison table (benchstat's when it is a go.mod tool or on PATH), then each
    benchmark's spread and verdict, and the machine's load; fails on a regression."""
    from gotasks.go.benchcompare import compare
    from gotasks.go.benchfmt import short_name
    from gotasks.go.benchgate import INCONCLUSIVE, REGRESSION, format_verdicts, judge
    from gotasks.go.benchtable import format_table

    (baseline, old), (current, new) = old_run, new_run
    console.info(f"baseline: {baseline}")
    comparison = compare(old, new, alpha=gate.alpha)
    if not _benchstat_table(c, mod, baseline, current):
        console.info(
            f"compared with gotasks' built-in Mann-Whitney U test (alpha {gate.alpha}; "
            "install benchstat to use it instead):"
        )
        table = format_table(comparison, old_label=baseline.stem, new_label=current.stem)
        console.info(table.rstrip())
    fail_on = gate.fail_on
    verdicts = judge(comparison, old, new, fail_on)
    threshold = f" (--fail-on {fail_on:g}%)" if fail_on is not None else ""
    console.info(f"time per op, {baseline.stem} -> {current.stem}{threshold}:")
    for line in format_verdicts(verdicts):
        console.info(f"  {line}")
    console.info(gate.load.describe())
    noisy = [v for v in verdicts if v.outcome == INCONCLUSIVE]
    if noisy:
        console.warn(f"{mod.label}: {len(noisy)} comparison(s) inconclusive: too noisy to tell")
    slower = [v for v in verdicts if v.outcome == REGRESSION]
    if slower:
        names = ", ".join(
            f"{short_name(v.name)} {'?' if v.delta_pct is None else f'{v.delta_pct:+.2f}%'}"
            for v in slower
        )
        raise TaskFailed(f"bench {mod.label}: slower by more than {fail_on:g}%: {names}")


def _benchstat_table(c: Context, mod: Module, baseline: Path, current: Path) -> bool:
    """benchstat's table, from the module's tool directive or PATH; False when there is
    none or it failed (the built-in test then speaks)."""
    from gotasks.go.benchstat import BenchstatError, run_benchstat
    from gotasks.go.gotools import declared_tools, resolve_tool

    toolchain, _ = toolchain_of(c.config)
    declared = declared_tools(toolchain.go, mod.dir, c.config.run.env)
    tool = resolve_tool("benchstat", declared, toolchain.go)
    if tool is None:
        return False
    try:
        # label=file keeps benchstat's column headers short; the keys that differ
        # between runs by nature must not split them into separate tables.
        labelled = [f"{p.stem}={p}" for p in (baseline, current)]
        args = ["-ignore", ",".join(VARYING_KEYS)]
        out = run_benchstat(
            *labelled,
            args=args,
            command=tool.argv,
            cwd=mod.dir,
            env={**os.environ, **c.config.run.env},  # go tool needs HOME, GOPATH, ...
        )
    except BenchstatError as error:
        console.warn(f"benchstat failed ({error}); using the built-in test instead")
        return False
    console.info(f"compared with benchstat ({tool.origin}):")
    console.info(out.rstrip())
    return True
