"""`inv bench`: Go benchmarks run alone, saved per env and commit, compared with the last run."""

from __future__ import annotations

import os
from pathlib import Path

from invoke.context import Context

from tasks.context import dry_run, go, module_header, module_of, settings_of, toolchain_of
from tasks.engine import TaskFailed, UsageError, console, task
from tasks.engine.errors import describe
from tasks.engine.files import atomic_write_text, naming, read_regular_text, regular_stat
from tasks.go.benchcompare import (
    BenchstatError,
    benchstat_available,
    compare,
    format_table,
    run_benchstat,
)
from tasks.go.benchfmt import BenchResult, parse
from tasks.go.buildinfo import read_vcs
from tasks.go.modules import Module
from tasks.paths import state_dir

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
        "against": "compare with this saved run (a file, or a commit prefix) instead of"
        " the previous one",
        "module": "only this module (its folder or module path); default: every module",
    },
)
def bench(
    c: Context,
    pattern: str | None = None,
    count: int = 0,
    benchtime: str | None = None,
    against: str | None = None,
    module: str | None = None,
) -> None:
    """Run benchmarks with -benchmem, save them (benchstat format), compare with the last run."""
    assert module is not None
    mod = module_of(c, module)
    settings = settings_of(c.config)
    config = settings.section("bench")
    if count < 0:
        raise UsageError(f"--count must be 1 or more, got {count}")
    runs = count or config["count"]
    # --against is checked before minutes of benchmarks, not after.
    chosen = _chosen_baseline(_runs_folder(c, mod), against) if against else None
    chosen_run = (chosen, _read_run(chosen)) if chosen else None
    module_header(c, "bench", mod, f", -count {runs}")
    args = [
        "test",
        "-run",
        "^$",
        "-bench",
        pattern or config["pattern"],
        "-benchmem",
        "-count",
        str(runs),
        "-benchtime",
        benchtime or config["benchtime"],
        *config["packages"],
    ]
    result = go(c, args, mod.dir, hide=False)
    if dry_run(c):
        return  # nothing ran: nothing to save or compare
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
        console.info("no earlier run for this env and module: this run is the baseline")
        return
    _compare(baseline, (saved, parse(result.stdout)), float(config["alpha"]))


def _save(c: Context, mod: Module, output: str) -> Path:
    """.gotasks/bench/<env>/<module>/<commit>[-dirty].txt, with the run's facts as config lines."""
    settings = settings_of(c.config)
    toolchain, environment = toolchain_of(c.config)
    vcs = read_vcs(mod.dir)
    key = "nogit" if vcs is None else vcs.commit[:12] + ("-dirty" if vcs.dirty else "")
    header = {
        "commit": vcs.commit if vcs else "unknown",
        "dirty": str(vcs.dirty).lower() if vcs else "unknown",
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
    """--against: a file, or the saved run whose name starts with it (a commit prefix)."""
    wanted = Path(against)
    if (wanted.exists() or wanted.is_symlink()) and not wanted.is_dir():
        return wanted  # read (and refused if it is no run) before the benchmarks start
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
            _set_aside(path, error.strerror or describe(error))
    return runs


def _previous(saved: Path) -> tuple[Path, list[BenchResult]] | None:
    """The newest sound saved run other than `saved`; damaged ones met on the way are set
    aside with a warning and the next newest is taken."""
    runs = _saved_runs(saved.parent)
    for path in sorted((p for p in runs if p != saved), key=runs.__getitem__, reverse=True):
        try:
            return path, _read_run(path)
        except UsageError as error:
            _set_aside(path, str(error).removeprefix(f"{path}: "))
    return None


def _read_run(path: Path) -> list[BenchResult]:
    """A saved run's results; UsageError (naming the file) if it is not one: not a regular
    file, not UTF-8, or without a single benchmark line."""
    try:
        results = parse(read_regular_text(path))
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text (byte {error.start})") from None
    if not results:
        raise UsageError(f"{path}: holds no benchmark results")
    return results


def _set_aside(path: Path, reason: str) -> None:
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
    except OSError as error:
        console.warn(f"{path}: {reason}; skipped (cannot set it aside: {describe(error)})")
        return
    console.warn(f"{path}: {reason}; set aside as {aside.name}")


def _compare(
    old_run: tuple[Path, list[BenchResult]], new_run: tuple[Path, list[BenchResult]], alpha: float
) -> None:
    (baseline, old), (current, new) = old_run, new_run
    console.info(f"baseline: {baseline}")
    if benchstat_available():
        try:
            console.info("compared with benchstat:")
            # label=file keeps benchstat's column headers short; the keys that differ
            # between runs by nature must not split them into separate tables.
            labelled = [f"{p.stem}={p}" for p in (baseline, current)]
            args = ["-ignore", ",".join(VARYING_KEYS)]
            console.info(run_benchstat(*labelled, args=args).rstrip())
            return
        except BenchstatError as error:
            console.warn(f"benchstat failed ({error}); using the built-in test instead")
    console.info(
        f"compared with gotasks' built-in Mann-Whitney U test (alpha {alpha}; "
        "install benchstat to use it instead):"
    )
    table = format_table(
        compare(old, new, alpha=alpha), old_label=baseline.stem, new_label=current.stem
    )
    console.info(table.rstrip())
