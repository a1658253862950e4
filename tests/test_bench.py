"""inv bench: runs, saves per env and commit, and compares with the previous run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project

from gotasks.go.benchfmt import parse

SLOW_BENCH = """package slow

import (
\t"testing"
\t"time"
)

func BenchmarkWork(b *testing.B) {
\tfor i := 0; i < b.N; i++ {
\t\ttime.Sleep(%s)
\t}
}
"""


def base_name(name: str) -> str:
    """The benchmark's name without its -GOMAXPROCS suffix (absent on one CPU)."""
    return re.sub(r"-\d+$", "", name)


def without_benchstat() -> dict[str, str]:
    """PATH minus any folder holding benchstat, so the built-in comparison is used."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return {"PATH": os.pathsep.join(f for f in folders if not (Path(f) / "benchstat").exists())}


def saved_runs(project: Project, env: str, module: str) -> list[Path]:
    return sorted((project.root / ".gotasks" / "bench" / env / module).glob("*.txt"))


def test_bench_saves_a_run_keyed_by_env_and_commit(make_project: Callable[..., Project]) -> None:
    project = make_project()
    head = project.git("rev-parse", "HEAD")
    out = project.inv("bench", "--count", "2", "--benchtime", "10x")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "this run is the baseline" in out.stdout
    runs = saved_runs(project, "dev", "hello")
    assert [p.name for p in runs] == [f"{head[:12]}.txt"]
    text = runs[0].read_text()
    assert f"commit: {head}\n" in text and "env: dev\n" in text and "go: go1." in text
    results = parse(text)
    names = {base_name(r.short_name) for r in results}
    assert {"Format", "Mean", "Percentile"} <= names
    assert all({"ns/op", "B/op", "allocs/op"} <= set(r.values) for r in results)
    assert len([r for r in results if base_name(r.short_name) == "Mean"]) == 2


def test_prod_counts_more_and_is_kept_apart(make_project: Callable[..., Project]) -> None:
    project = make_project()
    out = project.inv("bench", "--env=prod", "--pattern", "Mean", "--benchtime", "10x")
    assert out.returncode == 0, out.stdout + out.stderr
    (run,) = saved_runs(project, "prod", "hello")
    results = parse(run.read_text())
    assert len(results) == 10  # bench.count in config/prod.yaml
    assert "tags: prod,netgo,osusergo" in run.read_text()
    assert not saved_runs(project, "dev", "hello")


def test_second_run_is_compared_and_a_real_slowdown_is_significant(
    make_project: Callable[..., Project],
) -> None:
    project = make_project(example=False)
    project.write("go.mod", "module example.com/slow\n\ngo 1.21\n")
    project.write("slow_test.go", SLOW_BENCH % "10 * time.Microsecond")
    first_commit = project.commit_all("fast")
    args = ("bench", "--count", "8", "--benchtime", "20x")
    first = project.inv(*args, env=without_benchstat())
    assert first.returncode == 0, first.stdout + first.stderr

    project.write("slow_test.go", SLOW_BENCH % "3 * time.Millisecond")
    project.commit_all("slow")
    second = project.inv(*args, env=without_benchstat())
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"baseline: {saved_runs(project, 'dev', 'slow')[0]}" in second.stdout or (
        first_commit[:12] in second.stdout
    )
    assert "built-in Mann-Whitney U test" in second.stdout
    row = next(line for line in second.stdout.splitlines() if line.startswith("Work"))
    assert "+" in row and "%" in row and "~" not in row.split("%")[0], row
    assert len(saved_runs(project, "dev", "slow")) == 2


def test_rerun_at_the_same_commit_keeps_a_baseline(make_project: Callable[..., Project]) -> None:
    project = make_project()
    args = ("bench", "--pattern", "Mean", "--count", "2", "--benchtime", "10x")
    assert project.inv(*args).returncode == 0
    again = project.inv(*args, env=without_benchstat())
    assert again.returncode == 0, again.stdout + again.stderr
    head = project.git("rev-parse", "HEAD")[:12]
    assert f"{head}~prev.txt" in again.stdout
    comparison = again.stdout.split("built-in Mann-Whitney U test", 1)[1]
    assert re.search(r"^Mean-?\d*\s", comparison, re.MULTILINE), comparison


def test_benchstat_compares_runs_of_two_commits(make_project: Callable[..., Project]) -> None:
    if shutil.which("benchstat") is None:
        pytest.skip("benchstat not installed (go install golang.org/x/perf/cmd/benchstat)")
    project = make_project()
    args = ("bench", "--pattern", "Mean", "--count", "2", "--benchtime", "10x")
    assert project.inv(*args).returncode == 0
    project.write("hello/NOTES.md", "a new commit\n")
    project.commit_all("second")
    again = project.inv(*args)
    assert "compared with benchstat" in again.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    # one table comparing both runs, not one table per commit
    comparison = again.stdout.split("compared with benchstat", 1)[1]
    assert "vs base" in comparison
    assert re.search(r"^Mean-?\d*\s.*(~|%)", comparison, re.MULTILINE), comparison


def test_against_an_unknown_run_is_refused_before_running(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    args = ("bench", "--pattern", "Mean", "--count", "1", "--benchtime", "1x")
    out = project.inv(*args, "--against", "deadbeef")
    assert out.returncode == 2
    assert "deadbeef" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Benchmark" not in out.stdout  # nothing ran
    assert not (project.root / ".gotasks" / "bench").exists()


def test_against_a_saved_runs_file_compares_with_it(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    args = ("bench", "--pattern", "Mean", "--count", "2", "--benchtime", "10x")
    assert project.inv(*args).returncode == 0
    (first,) = saved_runs(project, "dev", "hello")
    kept = project.root / "baseline.txt"
    kept.write_text(first.read_text())
    again = project.inv(*args, "--against", str(kept), env=without_benchstat())
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"baseline: {kept}" in again.stdout
    assert "round 1/" not in again.stdout  # a file is compared with, not checked out
