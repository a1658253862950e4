"""The HTML run report: pure rendering, and what a person sees of it in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SOURCE, Project

from gotasks.engine.history import TaskRecord
from gotasks.engine.report import MAX_POINTS, ReportTask, RunReport, render

MakeProject = Callable[..., Project]
ARTIFACTS = SOURCE / ".gotasks" / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def record(name: str, start: float, end: float, slot: int = 0, **kw: Any) -> TaskRecord:
    values: dict[str, Any] = {
        "status": "ok",
        "pool": None,
        "cpu_claim": 1.0,
        "mem_claim": 100 << 20,
        "peak_rss": 50 << 20,
        "cpu_seconds": 0.5,
        "deps": (),
    }
    values.update(kw)
    return TaskRecord(name=name, start=start, end=end, slot=slot, **values)


def report_of(records: list[TaskRecord], **kw: Any) -> RunReport:
    tasks = [
        ReportTask(
            record=r,
            message=None,
            mem_limit=3 * r.mem_claim,
            cpu_declared=r.cpu_claim,
            mem_declared=r.mem_claim,
            cpu_learned=None,
            mem_learned=None,
        )
        for r in records
    ]
    values: dict[str, Any] = {
        "counters": [(0.2 * i, 50.0, 100 << 20) for i in range(20)],
        "cpus": 2.0,
        "memory": 1 << 30,
        "facts": [("env", "dev")],
    }
    values.update(kw)
    return RunReport(tasks=tasks, **values)


# -- rendering, no browser ---------------------------------------------------------------


def test_a_500_task_run_stays_under_1_mb() -> None:
    records = [
        record(f"test[services/svc-{i:03d}]", i * 0.5, i * 0.5 + 3.0, slot=i % 8)
        for i in range(500)
    ]
    counters = [(0.2 * i, 80.0, 1 << 30) for i in range(6000)]  # a 20-minute run
    html = render(report_of(records, counters=counters))
    assert len(html.encode()) < 1_000_000, len(html.encode())
    assert html.count('class="bar') == 500


def test_names_and_messages_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    html = render(report_of([record(evil, 0, 1)], facts=[("command", evil)]))
    assert evil not in html
    assert "&lt;script&gt;" in html


def test_the_page_loads_nothing_from_anywhere() -> None:
    html = render(report_of([record("a", 0, 1)]))
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "default-src 'none'" in html


def test_many_samples_keep_their_peaks() -> None:
    counters = [(0.01 * i, 10.0, 1 << 20) for i in range(10 * MAX_POINTS)]
    counters[4321] = (43.21, 99.0, 900 << 20)  # one short spike
    html = render(report_of([record("a", 0, 100)], counters=counters, memory=1 << 30))
    points = re.search(r'class="series line-mem" points="([^"]+)"', html)
    assert points is not None
    assert len(points.group(1).split()) <= MAX_POINTS
    heights = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert len(set(heights)) == 2  # the spike survived the downsampling


def test_the_critical_path_is_outlined_and_skipped_tasks_are_listed() -> None:
    records = [
        record("a", 0, 1),
        record("b", 1, 3, deps=("a",)),
        record("c", 0, 0.5, slot=1),
        record("d", 0, 0, status="skipped"),
    ]
    html = render(report_of(records))
    assert re.search(r'class="bar critical"[^>]*data-task="a"', html)
    assert re.search(r'class="bar critical"[^>]*data-task="b"', html)
    assert re.search(r'class="bar"[^>]*data-task="c"', html)
    assert 'data-task="d"' not in html  # no bar for what never ran
    assert "not run:" in html and ">d</span>" in html


NOOP = """

from gotasks.engine import task as _task


@_task(cpu=0.1, mem="1M")
def noop(c):
    pass


ns.add_task(noop)
"""


@pytest.mark.e2e
def test_the_report_comes_from_the_config_and_the_environment_too(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False, git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(NOOP)
    dev = project.root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "scheduler:\n  report: from-config.html\n")
    out = project.inv("noop")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "<svg" in (project.root / "from-config.html").read_text()
    out = project.inv("noop", env={"GOTASKS_REPORT": "from-env.html"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert (project.root / "from-env.html").is_file()


# -- in a real browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None  # type: ignore[assignment]
    if chromium is None or sync_playwright is None:
        why = "chromium" if chromium is None else "the playwright package"
        if os.environ.get("CI"):
            pytest.fail(f"{why} is missing: .ci/run installs it for the browser tests")
        pytest.skip(f"{why} is not installed (apt-get install chromium; pip install playwright)")
    with sync_playwright() as driver:
        yield driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


class Page:
    """A report open in the browser, with what it logged and fetched."""

    def __init__(self, browser: Any, path: Path, scheme: str = "light") -> None:
        self.context = browser.new_context(
            color_scheme=scheme, viewport={"width": 1300, "height": 1000}
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def bars(self) -> dict[str, dict[str, Any]]:
        """Each bar's task, status, fill colour and box on the screen, in CSS pixels."""
        return {  # type: ignore[no-any-return]
            b["task"]: b
            for b in self.page.eval_on_selector_all(
                "svg.gantt g.bar",
                """bars => bars.map(g => { const r = g.querySelector('rect');
                    const box = r.getBoundingClientRect();
                    return {task: g.dataset.task, status: g.dataset.status,
                            fill: getComputedStyle(r).fill, title: g.textContent,
                            x: box.x, width: box.width}; })""",
            )
        }

    def scale(self, chart: str) -> tuple[float, float, float]:
        """(screen x of time 0, screen pixels per second, screen pixels per user unit)."""
        return tuple(  # type: ignore[return-value]
            self.page.eval_on_selector(
                f"svg.{chart}",
                """svg => { const box = svg.getBoundingClientRect();
                    const k = box.width / svg.viewBox.baseVal.width;
                    return [box.x + k * parseFloat(svg.dataset.x0),
                            k * parseFloat(svg.dataset.pxPerS), k]; }""",
            )
        )

    def close(self) -> None:
        self.context.close()


def trace_spans(path: Path) -> dict[str, tuple[float, float]]:
    """name -> (start, duration) in seconds, from the run's Chrome trace."""
    events = json.loads(path.read_text())["traceEvents"]
    return {e["name"]: (e["ts"] / 1e6, e["dur"] / 1e6) for e in events if e.get("ph") == "X"}


def swatch(page: Any, status: str) -> str:
    """The colour the legend shows for a status (what a person matches bars against)."""
    return str(
        page.evaluate(
            """s => { const el = document.createElement('span');
                el.style.color = getComputedStyle(document.documentElement)
                    .getPropertyValue('--' + s).trim();
                document.body.appendChild(el); const c = getComputedStyle(el).color;
                el.remove(); return c; }""",
            status,
        )
    )


def check_bars_match_trace(view: Page, trace: Path) -> dict[str, dict[str, Any]]:
    spans = trace_spans(trace)
    bars = view.bars()
    assert set(bars) == set(spans), (sorted(bars), sorted(spans))
    x0, per_second, _ = view.scale("gantt")
    for name, (start, duration) in spans.items():
        bar = bars[name]
        # The trace keeps microseconds; a screen pixel is far coarser than that.
        assert bar["x"] == pytest.approx(x0 + start * per_second, abs=1.5), name
        assert bar["width"] == pytest.approx(duration * per_second, abs=1.5), name
    return bars


@pytest.mark.e2e
def test_the_report_of_a_real_ci_run(browser: Any, make_project: MakeProject) -> None:
    project = make_project()
    out = project.inv("ci", "--report", "run.html", "--trace", "run.json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "report: run.html" in out.stdout
    view = Page(browser, project.root / "run.html")
    try:
        bars = check_bars_match_trace(view, project.root / "run.json")
        ok = swatch(view.page, "ok")
        for name in ("lint[hello]", "test[hello]", "build[hello]"):
            assert bars[name]["fill"] == ok, bars[name]
            assert "peak memory" in bars[name]["title"], bars[name]
        facts = view.page.inner_text("dl.facts")
        for fact in ("env", "go", "commit", "capacity", "command"):
            assert re.search(rf"^{fact}\s", facts, re.M), facts
        assert "inv ci --report run.html" in facts
        # Sorting the table by time puts the slowest task last.
        view.page.click("th:has-text('time')")
        cells = view.page.eval_on_selector_all(
            "table.sortable tbody tr", "rows => rows.map(r => parseFloat(r.cells[3].dataset.v))"
        )
        assert cells == sorted(cells) and len(cells) == len(bars)
        view.screenshot("report-ci-light.png")
        assert view.errors == []
        assert view.requests == [view.url]
    finally:
        view.close()
    dark = Page(browser, project.root / "run.html", scheme="dark")
    try:
        background = dark.page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert max(channels) < 80, background  # a dark page, not a light one inverted
        assert swatch(dark.page, "ok") != ok  # the dark scheme's own colours
        dark.screenshot("report-ci-dark.png")
        # Printed, even from a dark screen: black on white, and every bar still there.
        dark.page.emulate_media(media="print")
        printed = dark.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert printed == "rgb(255, 255, 255)", printed
        assert len(dark.bars()) == len(bars)
        pdf = dark.page.pdf()
        assert pdf.startswith(b"%PDF")
        (ARTIFACTS / "report-ci.pdf").write_bytes(pdf)
        assert dark.errors == []
    finally:
        dark.close()


SYNTHETIC = """

import shlex
import sys as _sys

from gotasks.engine import task as _task

_PY = _sys.executable


@_task(cpu=0.5, mem="150M")
def steady(c):
    c.run(f"{_PY} -c 'import time; b = bytearray(100 << 20); time.sleep(2.5)'")


@_task(cpu=0.5, mem="200M")
def hog(c):
    # 100M resident, then one jump (touched, so resident) far past its 600M limit. The run's
    # 760M quota is more than its neighbours and its limit together: the run can only go
    # over it once the hog is over its own limit, which the chart must show with the kill.
    code = (
        "import time; a = b'x' * (100 << 20); time.sleep(0.5); b = b'x' * (900 << 20);"
        " time.sleep(10)"
    )
    c.run(f"{_PY} -c {shlex.quote(code)}")


@_task(cpu=0.5, mem="20M")
def broken(c):
    c.run(f"{_PY} -c 'import time, sys; time.sleep(0.5); sys.exit(3)'")


@_task(pre=[hog], cpu=0.1, mem="1M")
def after_hog(c):
    pass


@_task(pre=[steady, hog, broken, after_hog], cpu=0.1, mem="1M")
def synthetic(c):
    pass


ns.add_task(synthetic)
"""


@pytest.mark.e2e
def test_the_report_of_a_run_with_a_memory_kill(browser: Any, make_project: MakeProject) -> None:
    project = make_project(example=False, git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(SYNTHETIC)
    out = project.inv(
        "synthetic",
        "--keep-going",
        "--report",
        "run.html",
        "--trace",
        "run.json",
        env={"GOTASKS_MEMORY": "760M"},
    )
    assert out.returncode == 1, out.stdout + out.stderr
    view = Page(browser, project.root / "run.html")
    try:
        bars = check_bars_match_trace(view, project.root / "run.json")
        assert bars["hog"]["status"] == "killed"
        assert bars["hog"]["fill"] == swatch(view.page, "killed")
        assert bars["broken"]["fill"] == swatch(view.page, "failed")
        assert bars["steady"]["fill"] == swatch(view.page, "ok")
        assert len({bars[n]["fill"] for n in ("hog", "broken", "steady")}) == 3
        assert "after_hog" in view.page.inner_text("p.not-run")
        memory = view.page.eval_on_selector(
            "svg.mem",
            """svg => { const plot = svg.querySelector('g.plot');
                const base = parseFloat(plot.dataset.top) + parseFloat(plot.dataset.height);
                const limit = svg.querySelector('line.limit');
                const points = svg.querySelector('polyline.line-mem').getAttribute('points');
                return {limitY: parseFloat(limit.getAttribute('y1')), base: base,
                        x0: parseFloat(svg.dataset.x0), perS: parseFloat(svg.dataset.pxPerS),
                        points: points.trim().split(/\\s+/).map(p => p.split(',').map(Number)),
                        kills: Array.from(svg.querySelectorAll('g.kill-mark')).map(k =>
                    [k.dataset.task, [parseFloat(k.dataset.time), parseFloat(k.dataset.end)]])};
            }""",
        )
        kills = dict(memory["kills"])
        assert set(kills) == {"hog"}, kills
        over = [
            (x - memory["x0"]) / memory["perS"] for x, y in memory["points"] if y < memory["limitY"]
        ]
        # The curve is drawn to the quota line's scale: its peak stands where the trace's
        # own memory samples put it.
        events = json.loads((project.root / "run.json").read_text())["traceEvents"]
        peak_mib = max(e["args"]["rss"] for e in events if e.get("name") == "memory MiB")
        drawn_peak = min(y for _, y in memory["points"])
        ratio = (memory["base"] - drawn_peak) / (memory["base"] - memory["limitY"])
        assert ratio == pytest.approx(peak_mib / 760, rel=0.02), (ratio, peak_mib)
        # Above the quota only at the kill: from the sample that saw the hog over its limit
        # until its processes were gone (the quota leaves room for everything else).
        decided, ended = kills["hog"]
        assert all(decided - 0.6 <= t <= ended + 0.3 for t in over), (over, kills)
        assert view.page.is_visible("text=hog killed")
        view.screenshot("report-memory-kill.png")
        assert view.errors == []
        assert view.requests == [view.url]
    finally:
        view.close()
