"""inv bench --against REF (REF built in a temporary git worktree, run interleaved with the
work tree) and --fail-on (a significant slowdown past the threshold fails; noise is
inconclusive, never a regression)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import Project, clean_env
from test_bench import without_benchstat

pytestmark = pytest.mark.e2e

# The benchmark notes the folder it runs in (REF's worktree or the project) in $BENCH_LOG
# each time it is called, so the test sees the order of the runs; the loop's body sets
# its speed.
SLEEPING = """package slow

import (
\t"os"
\t"testing"
\t"time"
)

func BenchmarkWork(b *testing.B) {
\tif name := os.Getenv("BENCH_LOG"); name != "" {
\t\tf, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
\t\tif err != nil {
\t\t\tb.Fatal(err)
\t\t}
\t\tdir, _ := os.Getwd()
\t\tf.WriteString(dir + "\\n")
\t\tf.Close()
\t}
\tfor i := 0; i < b.N; i++ {
\t\t%s
\t}
}
"""
SPIN = "spin()"
SPIN_FUNC = """
var sink int
var _ = time.Second

func spin() {
\tx := 0
\tfor j := 0; j < 300000; j++ {
\t\tx += j * j % 7
\t}
\tsink = x
}
"""


def write_bench(project: Project, body: str, extra: str = "") -> None:
    project.write("slow_test.go", SLEEPING % body + extra)


def slow_project(make_project: Callable[..., Project]) -> Project:
    project = make_project(example=False)
    project.write("go.mod", "module example.com/slow\n\ngo 1.21\n")
    return project


def sides(log: Path, project: Project) -> str:
    """The sides in the order they ran, one letter per run: A for REF (its worktree), B for
    the work tree (a run calls the benchmark function more than once: repeats collapse)."""
    if not log.exists():
        return ""
    order = ""
    for folder in log.read_text().splitlines():
        letter = "B" if Path(folder).resolve() == project.root.resolve() else "A"
        if not order.endswith(letter):
            order += letter
    return order


def verdict_row(stdout: str) -> str:
    """The verdict line of BenchmarkWork (the one with the spreads, after the table)."""
    return next(
        line for line in stdout.splitlines() if line.strip().startswith("Work") and "spread" in line
    )


def worktrees(project: Project) -> list[str]:
    listing = project.git("worktree", "list", "--porcelain")
    return [line for line in listing.splitlines() if line.startswith("worktree ")]


def test_a_real_slowdown_since_ref_fails_and_the_runs_interleave(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = slow_project(make_project)
    # Sleeps rather than work: a loaded machine delays a wake-up, and 20 of them a sample
    # average that out, where it would slow work down by as much as the load.
    write_bench(project, "time.Sleep(5 * time.Millisecond)")
    ref = project.commit_all("fast")
    write_bench(project, "time.Sleep(10 * time.Millisecond)")
    project.commit_all("twice as slow")
    log, scratch = tmp_path / "order.log", tmp_path / "scratch"
    scratch.mkdir()
    out = project.inv(
        "bench",
        "--against",
        ref[:10],
        "--count",
        "6",
        "--benchtime",
        "20x",
        "--fail-on",
        "10",
        env={**without_benchstat(), "BENCH_LOG": str(log), "TMPDIR": str(scratch)},
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert sides(log, project) == "AB" * 6, sides(
        log, project
    )  # REF first, then the work tree, each round
    row = verdict_row(out.stdout)
    assert "regression" in row and "+" in row, out.stdout
    assert "slower by more than 10%" in out.stderr and "Work" in out.stderr
    assert "machine load: load average" in out.stdout
    # The worktree and the binaries are gone, and git's record of the worktree with them.
    assert len(worktrees(project)) == 1
    assert list(scratch.iterdir()) == []
    # Both sides are saved as runs of their commits.
    runs = sorted(p.name for p in (project.root / ".gotasks/bench/dev/slow").glob("*.txt"))
    assert f"{ref[:12]}.txt" in runs and len(runs) == 2


def test_identical_code_under_a_cpu_hog_is_never_a_regression(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = slow_project(make_project)
    write_bench(project, SPIN, SPIN_FUNC)
    ref = project.commit_all("spin")
    project.write("NOTES.md", "no code changed\n")
    project.commit_all("notes only")
    log = tmp_path / "order.log"
    env = clean_env(**without_benchstat(), BENCH_LOG=str(log))
    args = ["bench", "--against", ref, "--count", "8", "--benchtime", "20x", "--fail-on", "10"]
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The hog loads every CPU from the work tree's first run to the end: part of the run,
    # by progress rather than by the clock. Run one side after the other instead of
    # interleaved, and the work tree alone would be slowed.
    with cpu_hog_from(lambda: "B" in sides(log, project), run):
        stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stdout + stderr
    row = verdict_row(stdout)
    assert "regression" not in row and ("ok" in row or "inconclusive (noisy" in row), row
    assert "spread ±" in row
    assert "machine load: load average" in stdout


@contextmanager
def cpu_hog_from(start: Callable[[], bool], run: subprocess.Popen[str]) -> Iterator[None]:
    """Spin every CPU from a point of the run's progress to its end."""
    hogs: list[subprocess.Popen[bytes]] = []

    def watch() -> None:
        while run.poll() is None:
            if not hogs and start():
                hogs.extend(
                    subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(os.cpu_count() or 2)
                )
            time.sleep(0.05)
        _end(hogs)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        watcher.join(timeout=30)
        _end(hogs)


def _end(hogs: list[subprocess.Popen[bytes]]) -> None:
    for hog in hogs:
        if hog.poll() is None:
            hog.kill()
            hog.wait()


def test_ctrl_c_removes_the_worktree(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = slow_project(make_project)
    write_bench(project, "time.Sleep(20 * time.Millisecond)")
    ref = project.commit_all("a")
    write_bench(project, "time.Sleep(20 * time.Millisecond)")
    log, scratch = tmp_path / "order.log", tmp_path / "scratch"
    scratch.mkdir()
    env = clean_env(**without_benchstat(), BENCH_LOG=str(log), TMPDIR=str(scratch))
    args = ["bench", "--against", ref, "--count", "50", "--benchtime", "10x"]
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while len(sides(log, project)) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, run.communicate()
    assert len(worktrees(project)) == 2  # REF's worktree is there while it runs
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stdout + stderr
    assert len(worktrees(project)) == 1
    assert list(scratch.iterdir()) == []


def test_bad_ref_and_bad_threshold_are_usage_errors(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    for flags, words in (
        (("--against", "no-such-branch"), "no-such-branch"),
        (("--fail-on", "ten"), "--fail-on"),
        (("--fail-on", "-5"), "--fail-on"),
    ):
        out = project.inv("bench", "--count", "1", "--benchtime", "1x", *flags)
        assert out.returncode == 2, out.stdout + out.stderr
        assert words in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
        assert "Benchmark" not in out.stdout
    project.write(
        "config/dev.yaml",
        project.root.joinpath("config/dev.yaml").read_text() + "bench:\n  fail_on: -3\n",
    )
    out = project.inv("bench")
    assert out.returncode == 2 and "bench.fail_on" in out.stderr, out.stderr


def test_fail_on_from_config_gates_a_saved_run_comparison(
    make_project: Callable[..., Project],
) -> None:
    project = slow_project(make_project)
    project.write(
        "config/dev.yaml",
        project.root.joinpath("config/dev.yaml").read_text() + "bench:\n  fail_on: 10\n",
    )
    write_bench(project, "time.Sleep(5 * time.Millisecond)")
    project.commit_all("fast")
    args = ("bench", "--count", "6", "--benchtime", "20x")
    first = project.inv(*args, env=without_benchstat())
    assert first.returncode == 0, first.stdout + first.stderr
    write_bench(project, "time.Sleep(10 * time.Millisecond)")
    project.commit_all("slow")
    second = project.inv(*args, env=without_benchstat())
    assert second.returncode == 1, second.stdout + second.stderr
    assert "(--fail-on 10%)" in second.stdout
    assert "slower by more than 10%" in second.stderr
