"""`inv bench`: Go benchmarks run alone, saved per env and commit, compared with the last run."""

from __future__ import annotations

import os
from pathlib import Path

from invoke.context import Context

from tasks.context import go, module_header, module_of, settings_of, toolchain_of
from tasks.engine import TaskFailed, UsageError, console, task
from tasks.engine.files import atomic_write_text
from tasks.go.benchcompare import (
    BenchstatError,
    benchstat_available,
    compare,
    format_table,
    run_benchstat,
)
from tasks.go.benchfmt import parse
from tasks.go.buildinfo import read_vcs
from tasks.go.modules import Module
from tasks.paths import state_dir

# Header keys that differ between two runs being compared; benchstat must not group by them.
VARYING_KEYS = ("commit", "dirty", "go", "tags")


@task(
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
    if result.exited != 0:
        raise TaskFailed(f"bench {mod.rel}: go test -bench failed (exit {result.exited})")
    if not parse(result.stdout):
        console.warn(f"{mod.rel}: no benchmark matched; nothing saved")
        return
    saved = _save(c, mod, result.stdout)
    console.info(f"saved: {saved}")
    if chosen == saved:  # the run chosen was this commit's, now kept as ~prev
        chosen = saved.with_name(f"{saved.stem}~prev.txt")
    baseline = chosen or _previous(saved)
    if baseline is None:
        console.info("no earlier run for this env and module: this run is the baseline")
        return
    _compare(baseline, saved, float(config["alpha"]))


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
    if path.exists():
        # A rerun at the same commit keeps the run before it, so there is still a baseline.
        os.replace(path, path.with_name(f"{key}~prev.txt"))
    atomic_write_text(path, text)
    return path


def _runs_folder(c: Context, mod: Module) -> Path:
    settings = settings_of(c.config)
    return state_dir(settings.root) / "bench" / settings.env / mod.name


def _chosen_baseline(folder: Path, against: str) -> Path:
    """--against: a file, or the saved run whose name starts with it (a commit prefix)."""
    wanted = Path(against)
    if wanted.is_file():
        return wanted
    runs = sorted(folder.glob("*.txt"))
    matches = [p for p in runs if p.stem.startswith(against)]
    if not matches:
        known = ", ".join(p.stem for p in runs) or "none"
        raise UsageError(f"--against {against!r}: no saved run matches; saved in {folder}: {known}")
    exact = [p for p in matches if p.stem == against]
    return exact[0] if exact else max(matches, key=lambda p: p.stat().st_mtime_ns)


def _previous(saved: Path) -> Path | None:
    others = [p for p in saved.parent.glob("*.txt") if p != saved]
    return max(others, key=lambda p: p.stat().st_mtime_ns) if others else None


def _compare(baseline: Path, current: Path, alpha: float) -> None:
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
    old = parse(baseline.read_text(encoding="utf-8"))
    new = parse(current.read_text(encoding="utf-8"))
    table = format_table(
        compare(old, new, alpha=alpha), old_label=baseline.stem, new_label=current.stem
    )
    console.info(table.rstrip())
