"""inv bench.report: benchmark history as a page, checked as data and in a real browser."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import Project
from test_report import Page, browser  # noqa: F401  (the fixture, shared)

from gotasks.go.benchhistory import history, load_runs, ordered

MakeProject = Callable[..., Project]


def saved_run(folder: Path, name: str, commit: str, ns: list[float], dirty: bool = False) -> Path:
    """A run as `inv bench` saves it: the facts as config lines, then go test's lines."""
    lines = [
        f"commit: {commit}",
        f"dirty: {str(dirty).lower()}",
        "env: dev",
        "go: go1.26.8",
        "tags: dev",
        "module: example.com/hello",
        "goos: linux",
        "goarch: amd64",
        "pkg: example.com/hello/stats",
    ]
    lines += [f"BenchmarkMean-2   \t1000\t{v} ns/op\t0 B/op\t0 allocs/op" for v in ns]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text("\n".join(lines) + "\nPASS\n")
    return path


FAST = [100.0, 101.0, 99.0, 100.5, 100.2, 99.8]
SLOW = [150.0, 151.0, 149.0, 150.5, 150.2, 149.8]


def test_runs_are_ordered_by_commit_date_and_changes_are_found(tmp_path: Path) -> None:
    dates = {
        "a" * 40: datetime(2026, 1, 1, tzinfo=UTC),
        "b" * 40: datetime(2026, 2, 1, tzinfo=UTC),
        "c" * 40: datetime(2026, 3, 1, tzinfo=UTC),
    }
    # Saved in another order than their commits were made (a checkout of an old commit).
    saved_run(tmp_path, "c" * 12, "c" * 40, SLOW)
    saved_run(tmp_path, "a" * 12, "a" * 40, FAST)
    saved_run(tmp_path, "b" * 12, "b" * 40, FAST)
    saved_run(tmp_path, "d" * 12, "d" * 40, SLOW)  # a commit git no longer knows: last
    runs, problems = load_runs(tmp_path)
    assert problems == []
    runs = ordered(runs, dates.get)
    assert [r.commit[0] for r in runs] == ["a", "b", "c", "d"]
    series = {s.unit: s for s in history(runs)}
    time = series["ns/op"]
    assert [p.median for p in time.points] == [100.1, 100.1, 150.1, 150.1]
    assert [(c.run, round(c.delta_pct)) for c in time.changes] == [(2, 50)]
    assert time.points[0].low == 99.0 and time.points[0].high == 101.0
    assert series["allocs/op"].changes == []


def test_unreadable_saved_runs_are_left_out_with_a_line(tmp_path: Path) -> None:
    saved_run(tmp_path, "a" * 12, "a" * 40, FAST)
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe not a benchmark")
    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere")
    runs, problems = load_runs(tmp_path)
    assert [r.label for r in runs] == ["a" * 12]
    assert len(problems) == 3 and all("left out" in p for p in problems), problems


@pytest.mark.e2e
def test_the_report_of_real_bench_runs_in_a_browser(
    browser: Any,  # noqa: F811
    make_project: MakeProject,
) -> None:
    project = make_project()
    args = ("bench", "--pattern", "Mean", "--count", "6", "--benchtime", "20x")
    first = project.inv(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    clean_commit = project.git("rev-parse", "HEAD")
    # A second commit whose benchmark is slower, run and saved the same way.
    stats = project.root / "hello" / "stats" / "stats.go"
    head = "func Mean(xs []float64) (float64, error) {"
    source = stats.read_text()
    assert head in source
    spin = (
        "\nvar sink int\n\nfunc spin() {\n\tfor i := 0; i < 200000; i++ {\n\t\tsink += i\n\t}\n}\n"
    )
    stats.write_text(source.replace(head, head + "\n\tspin()") + spin)
    slow_commit = project.commit_all("slower Mean")
    second = project.inv(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    out = project.inv("bench.report", "bench.html")
    assert out.returncode == 0, out.stdout + out.stderr
    view = Page(browser, project.root / "bench.html")
    try:
        charts = view.page.eval_on_selector_all(
            "svg.bench",
            """svgs => svgs.map(s => ({unit: s.dataset.unit, name: s.dataset.benchmark,
                runs: Array.from(s.querySelectorAll('circle.point')).map(c => c.dataset.run),
                changes: Array.from(s.querySelectorAll('text.change')).map(t =>
                    [t.dataset.run, parseFloat(t.dataset.delta), t.getAttribute('class')])}))""",
        )
        units = sorted(c["unit"] for c in charts)
        assert units == ["B/op", "allocs/op", "ns/op"], charts
        time = next(c for c in charts if c["unit"] == "ns/op")
        # Commit order: the clean commit's run first, then the slower one's.
        assert time["runs"] == [clean_commit[:12], slow_commit[:12]], time
        [(run, delta, css)] = time["changes"]
        assert run == slow_commit[:12] and delta > 20 and "change-worse" in css, time
        mark = view.page.locator("svg.bench[data-unit='ns/op'] text.change")
        assert mark.is_visible()
        assert mark.text_content().startswith(f"+{delta:.1f}% {slow_commit[:7]}")
        table = view.page.inner_text("table.sortable")
        assert "worse" in table
        view.screenshot("bench-report.png")
        assert view.errors == []
        assert view.requests == [view.url]
    finally:
        view.close()


@pytest.mark.e2e
def test_no_saved_runs_is_one_line_and_exit_2(make_project: MakeProject) -> None:
    project = make_project()
    out = project.inv("bench.report", "bench.html")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "run `inv bench` first" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (project.root / "bench.html").exists()
