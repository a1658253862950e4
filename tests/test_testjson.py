"""Tests of gotasks.go.testjson and go.junit against the output of a real `go test -json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gotasks.go.junit import BUILD_FAILED_CASE, PACKAGE_FAILED_CASE, write_junit
from gotasks.go.testjson import TestRun, parse
from gotasks.go.testresults import Counts, Status, failure_output, package_failure_output
from gotasks.go.testsummary import render_summary, summary_lines

MODULE = "example.com/fixture"

GO_FILES = {
    "go.mod": f"module {MODULE}\n\ngo 1.21\n",
    # Add is covered and Unused is not: 1 of 4 statements, so coverage is exactly 25.0%.
    "good/good.go": """package good

func Add(a, b int) int { return a + b }

func Unused(x int) int {
	if x > 0 {
		return 1
	}
	return 2
}
""",
    "good/good_test.go": """package good

import "testing"

func TestPass(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("Add is broken")
	}
}

func TestNoisy(t *testing.T) {
	for i := 0; i < 200; i++ {
		t.Logf("NOISY-LINE %d", i)
	}
}

func TestFail(t *testing.T) {
	t.Log("FAIL-LOG before the subtests")
	t.Run("ok_sub", func(t *testing.T) { t.Log("OKSUB-LOG") })
	t.Run("bad_sub", func(t *testing.T) { t.Errorf("BADSUB-ERR want %d, got %d", 1, 2) })
	t.Log("FAIL-LOG after the subtests")
}

func TestSkip(t *testing.T) { t.Skip("SKIP-REASON needs a GPU") }
""",
    "broken/broken.go": """package broken

func F() int { return "not an int" }
""",
    "broken/broken_test.go": """package broken

import "testing"

func TestF(t *testing.T) { F() }
""",
    "panicky/panicky_test.go": """package panicky

import "testing"

func TestCalm(t *testing.T) { t.Log("CALM-LOG") }

func TestBoom(t *testing.T) {
	var m map[string]int
	m["key"] = 1
}
""",
    "mainexit/mainexit_test.go": """package mainexit

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	fmt.Println("MAIN-SAYS-BYE")
	os.Exit(3)
}

func TestNeverRuns(t *testing.T) {}
""",
    "notests/notests.go": "package notests\n\nfunc X() int { return 1 }\n",
}


def _go_env() -> dict[str, str]:
    env = os.environ.copy()
    env.update(GOPROXY="off", GOTOOLCHAIN="local", GOWORK="off", GOFLAGS=env.get("GOFLAGS", ""))
    return env


@pytest.fixture(scope="module")
def go_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("go") is None:
        pytest.skip("`go` is not on PATH: these tests run the real `go test -json`")
    root = tmp_path_factory.mktemp("gomod")
    for name, text in GO_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def run(go_module: Path) -> TestRun:
    """The run, fed line by line while go runs, as the task does."""
    result = TestRun()
    # stderr is merged in: Go < 1.24 prints compiler errors there, as plain text.
    with subprocess.Popen(
        ["go", "test", "-json", "-count=1", "-cover", "./..."],
        cwd=go_module,
        env=_go_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            result.feed(line)
    assert proc.returncode != 0  # some tests fail on purpose
    result.finish()
    return result


def _pkg(name: str) -> str:
    return f"{MODULE}/{name}"


def test_packages_and_statuses(run: TestRun) -> None:
    statuses = {p.name: p.status for p in run.packages}
    assert statuses[_pkg("good")] == Status.FAIL
    assert statuses[_pkg("broken")] == Status.BUILD_FAILED
    assert statuses[_pkg("panicky")] == Status.FAIL
    assert statuses[_pkg("mainexit")] == Status.FAIL
    # Without -cover go reports "[no test files]" (skip); with -cover since Go 1.22 it passes.
    assert statuses[_pkg("notests")] in (Status.SKIP, Status.PASS)
    assert run.failed


def test_counts_keep_subtests_apart(run: TestRun) -> None:
    good = run.package(_pkg("good"))
    assert good is not None
    assert good.top_level_counts == Counts(passed=2, failed=1, skipped=1)
    assert good.subtest_counts == Counts(passed=1, failed=1)
    assert good.counts == Counts(passed=3, failed=2, skipped=1)
    fail = good.test("TestFail")
    assert fail is not None and fail.status is Status.FAIL and not fail.is_subtest
    assert [(s.name, s.status) for s in fail.subtests] == [
        ("TestFail/ok_sub", Status.PASS),
        ("TestFail/bad_sub", Status.FAIL),
    ]
    assert [t.name for t in good.failed_tests] == ["TestFail"]  # the subtest is reported within
    notests = run.package(_pkg("notests"))
    assert notests is not None and notests.counts == Counts()


def test_coverage(run: TestRun) -> None:
    good = run.package(_pkg("good"))
    assert good is not None and good.coverage == pytest.approx(25.0)
    broken = run.package(_pkg("broken"))
    assert broken is not None and broken.coverage is None


def test_each_test_keeps_only_its_own_output(run: TestRun) -> None:
    good = run.package(_pkg("good"))
    assert good is not None
    noisy = good.test("TestNoisy")
    assert noisy is not None
    assert sum("NOISY-LINE" in line for line in noisy.output_lines) == 200
    assert "FAIL-LOG" not in noisy.output
    ok_sub = good.test("TestFail/ok_sub")
    assert ok_sub is not None and "OKSUB-LOG" in ok_sub.output


def test_failure_output_of_failed_test(run: TestRun) -> None:
    good = run.package(_pkg("good"))
    assert good is not None
    fail = good.test("TestFail")
    assert fail is not None
    text = failure_output(fail)
    # Its own logs and its failed subtest's, in the order go printed them.
    before = text.index("FAIL-LOG before the subtests")
    error = text.index("BADSUB-ERR want 1, got 2")
    after = text.index("FAIL-LOG after the subtests")
    assert before < error < after
    assert "--- FAIL: TestFail " in text
    for foreign in ("NOISY-LINE", "OKSUB-LOG", "SKIP-REASON", "=== RUN"):
        assert foreign not in text
    bad_sub = good.test("TestFail/bad_sub")
    assert bad_sub is not None
    assert "FAIL-LOG" not in failure_output(bad_sub)
    assert "BADSUB-ERR" in failure_output(bad_sub)


def test_panic_belongs_to_the_test(run: TestRun) -> None:
    panicky = run.package(_pkg("panicky"))
    assert panicky is not None
    assert panicky.counts == Counts(passed=1, failed=1)
    boom = panicky.test("TestBoom")
    assert boom is not None and boom.status is Status.FAIL
    text = failure_output(boom)
    assert "panic: assignment to entry in nil map" in text
    assert "CALM-LOG" not in text


def test_build_failure_has_the_compiler_message(run: TestRun) -> None:
    broken = run.package(_pkg("broken"))
    assert broken is not None
    assert broken.tests == []
    assert broken.failed
    text = package_failure_output(broken)
    assert "broken/broken.go:3:" in text
    assert "not an int" in text


def test_package_output_shown_without_failed_test(run: TestRun) -> None:
    mainexit = run.package(_pkg("mainexit"))
    assert mainexit is not None
    assert mainexit.failed_tests == []
    assert "MAIN-SAYS-BYE" in package_failure_output(mainexit)


def test_summary(run: TestRun) -> None:
    text = render_summary(run)
    assert "\x1b" not in text  # colour is the caller's business
    lines = text.splitlines()
    good_line = next(line for line in lines if line.split()[1:2] == [_pkg("good")])
    assert good_line.startswith("FAIL")
    assert "2 passed, 1 failed, 1 skipped" in good_line
    assert "subtests: 1 passed, 1 failed" in good_line
    assert "coverage: 25.0%" in good_line
    broken_line = next(line for line in lines if line.split()[1:2] == [_pkg("broken")])
    assert "[build failed]" in broken_line
    assert any(line.startswith("FAIL: TestFail ") for line in lines)
    assert any(line.startswith("FAIL: TestBoom ") for line in lines)
    assert "BADSUB-ERR" in text
    assert "broken/broken.go:3:" in text
    assert "MAIN-SAYS-BYE" in text
    for foreign in ("NOISY-LINE", "OKSUB-LOG", "CALM-LOG", "=== RUN"):
        assert foreign not in text
    kinds = {line.kind for line in summary_lines(run)}
    assert {"fail", "output"} <= kinds


def test_junit(run: TestRun, tmp_path: Path) -> None:
    path = write_junit(run, tmp_path / "reports" / "nested" / "junit.xml")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]  # no temp file left
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {p.name for p in run.packages}

    good = suites[_pkg("good")]
    assert (good.get("tests"), good.get("failures"), good.get("errors"), good.get("skipped")) == (
        "6",
        "2",
        "0",
        "1",
    )
    assert good.get("timestamp")
    assert float(good.get("time", "x")) >= 0
    cases = {c.get("name"): c for c in good.findall("testcase")}
    assert set(cases) == {
        "TestPass",
        "TestNoisy",
        "TestFail",
        "TestFail/ok_sub",
        "TestFail/bad_sub",
        "TestSkip",
    }
    assert all(c.get("classname") == _pkg("good") for c in cases.values())
    failure = cases["TestFail"].find("failure")
    assert failure is not None and failure.get("type") == "failure" and failure.get("message")
    assert "BADSUB-ERR" in (failure.text or "")
    assert "NOISY-LINE" not in (failure.text or "")
    assert cases["TestPass"].find("failure") is None
    skipped = cases["TestSkip"].find("skipped")
    assert skipped is not None and "SKIP-REASON needs a GPU" in skipped.get("message", "")
    coverage = good.find("properties/property[@name='coverage']")
    assert coverage is not None and coverage.get("value") == "25.0"

    broken = suites[_pkg("broken")]
    assert (broken.get("tests"), broken.get("errors")) == ("1", "1")
    error = broken.find(f"testcase[@name='{BUILD_FAILED_CASE}']/error")
    assert error is not None and "broken/broken.go:3:" in (error.text or "")

    mainexit = suites[_pkg("mainexit")]
    error = mainexit.find(f"testcase[@name='{PACKAGE_FAILED_CASE}']/error")
    assert error is not None and "MAIN-SAYS-BYE" in (error.text or "")

    totals = {k: sum(int(s.get(k, "0")) for s in suites.values()) for k in ("tests", "failures")}
    totals |= {k: sum(int(s.get(k, "0")) for s in suites.values()) for k in ("errors", "skipped")}
    assert {k: int(root.get(k, "-1")) for k in totals} == totals
    assert totals["failures"] == 3  # TestFail, TestFail/bad_sub, TestBoom
    assert totals["errors"] == 2  # broken's build, mainexit's exit


def _event(**fields: object) -> str:
    return json.dumps(fields)


def test_garbage_is_kept_as_stray_output(tmp_path: Path) -> None:
    lines = [
        "go: downloading nothing at all",
        "",
        "{not json",
        "[1, 2, 3]",
        "null",
        '{"Action": 5}',
        "{" * 100_000,  # deep enough to make json recurse too far
        _event(Action="output", Output="output of no package\n"),
        _event(Action="pass", Package="example.com/x", Test="TestT", Elapsed="soon"),
        _event(
            Action="output", Package="example.com/x", Output="\x00\x1b[31mred\x1b[0m\x07\ud800\n"
        ),
        _event(Action="fail", Package="example.com/x", Elapsed=0.5),
        b"\xff\xfe".decode("utf-8", errors="surrogateescape"),
    ]
    run = TestRun()
    for line in lines:
        run.feed(line)  # none of these may raise
    run.finish()
    assert "go: downloading nothing at all" in run.stray_output
    assert "{not json" in run.stray_output
    assert "output of no package" in run.stray_output
    x = run.package("example.com/x")
    assert x is not None and x.status is Status.FAIL and x.elapsed == 0.5
    test = x.test("TestT")
    assert test is not None and test.status is Status.PASS and test.elapsed == 0.0
    assert "output of no package" in render_summary(run)
    # The control characters and lone surrogates must not make the XML unreadable.
    root = ET.parse(write_junit(run, tmp_path / "junit.xml")).getroot()
    out = root.find("testsuite/system-out")
    assert out is not None and out.text is not None and "red" in out.text
    assert "\x00" not in out.text and "[31m" not in out.text


def test_build_failure_of_old_go_from_stray_lines() -> None:
    """Go < 1.24 prints the compiler's errors as text, without ImportPath or FailedBuild."""
    pkg = "example.com/old"
    run = parse(
        [
            f"# {pkg} [{pkg}.test]",
            "./old.go:3:9: undefined: nope",
            _event(Action="start", Package=pkg),
            _event(Action="output", Package=pkg, Output=f"FAIL\t{pkg} [build failed]\n"),
            _event(Action="fail", Package=pkg, Elapsed=0),
        ]
    )
    old = run.package(pkg)
    assert old is not None and old.status is Status.BUILD_FAILED
    assert "./old.go:3:9: undefined: nope" in package_failure_output(old)
    assert run.unexplained_stray_output == []  # shown once, as the package's build output


def test_truncated_stream_fails_what_was_running() -> None:
    pkg = "example.com/cut"
    run = TestRun()
    run.feed(_event(Action="start", Package=pkg))
    run.feed(_event(Action="run", Package=pkg, Test="TestHang"))
    run.feed(_event(Action="output", Package=pkg, Test="TestHang", Output="HANG-LOG\n"))
    cut = run.package(pkg)
    assert cut is not None and cut.status is Status.RUNNING
    run.finish()
    cut = run.package(pkg)
    assert cut is not None and cut.status is Status.FAIL
    hang = cut.test("TestHang")
    assert hang is not None and hang.status is Status.FAIL
    assert "HANG-LOG" in render_summary(run)


def test_repeated_runs_are_separate_results() -> None:
    pkg = "example.com/rep"
    lines = []
    for verdict in ("pass", "fail"):
        lines += [
            _event(Action="run", Package=pkg, Test="TestFlaky"),
            _event(Action="output", Package=pkg, Test="TestFlaky", Output=f"RUN-{verdict}\n"),
            _event(Action=verdict, Package=pkg, Test="TestFlaky", Elapsed=0.1),
        ]
    lines.append(_event(Action="fail", Package=pkg, Elapsed=0.3))
    rep = parse(lines).package(pkg)
    assert rep is not None
    assert [t.status for t in rep.tests] == [Status.PASS, Status.FAIL]
    assert rep.counts == Counts(passed=1, failed=1)
    assert failure_output(rep.failed_tests[0]) == "RUN-fail\n"


def test_write_junit_replaces_the_old_report(tmp_path: Path) -> None:
    target = tmp_path / "junit.xml"
    target.write_text("stale")
    write_junit(parse([_event(Action="skip", Package="example.com/none", Elapsed=0)]), target)
    root = ET.parse(target).getroot()
    assert root.get("tests") == "0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml"]


UNREACHABLE_DEPS = {
    "go.mod": "module example.com/m\n\ngo 1.22\n\nrequire (\n\texample.net/one v1.0.0\n"
    "\texample.net/two v1.0.0\n\texample.net/three v1.0.0\n)\n",
    "m.go": 'package m\n\nimport _ "example.net/one"\n',
    "a/a.go": 'package a\n\nimport (\n\t_ "example.net/one"\n\t_ "example.net/two"\n)\n',
    "b/b.go": 'package b\n\nimport _ "example.net/three"\n',
    "b/b_test.go": 'package b\n\nimport "testing"\n\nfunc TestB(t *testing.T) {}\n',
}


@pytest.mark.e2e
def test_dependencies_that_cannot_be_fetched_are_not_the_modules_packages(
    tmp_path: Path,
) -> None:
    """A proxy nothing answers, an empty module cache: each dependency's build fails with
    the same cause. Only the module's 3 packages count, and the cause is shown once."""
    for rel, text in UNREACHABLE_DEPS.items():
        (tmp_path / "m" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "m" / rel).write_text(text)
    env = {
        **os.environ,
        "GOPROXY": "http://127.0.0.1:9",  # the discard port: nothing listens there
        "GOFLAGS": "-mod=mod",
        "GOSUMDB": "off",
        "GOMODCACHE": str(tmp_path / "cache"),
        "GOTOOLCHAIN": "local",
    }
    out = subprocess.run(
        ["go", "test", "-json", "./..."],
        cwd=tmp_path / "m",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode != 0
    run = parse(out.stdout.splitlines())
    assert sorted(p.name for p in run.packages) == [
        "example.com/m",
        "example.com/m/a",
        "example.com/m/b",
    ]
    assert all(p.status is Status.BUILD_FAILED for p in run.packages)
    text = render_summary(run)
    assert "FAIL: 3 of 3 packages failed" in text
    causes = [line for line in text.splitlines() if "connection refused" in line]
    assert len(causes) == 1, text  # once, not once per package or per module
    assert "(the same error for 2 more modules: " in text
    for module in ("example.net/one@v1.0.0", "example.net/two@v1.0.0", "example.net/three@v1.0.0"):
        assert module in text
    assert len(text.splitlines()) < 15, text
