"""`inv lint` and `inv test` on real Go modules: discovery, gofmt, vet, tidy, go test -json."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, require_go

MakeProject = Callable[..., Project]

FORMATTED = "package {pkg}\n\nfunc F() int {{ return 1 }}\n"
# Not gofmt-ed, and a vet error too: linting a decoy by mistake cannot pass unnoticed.
DECOY = 'package decoy\n\nimport "fmt"\n\nfunc  G( ) { fmt.Printf("%d", "x") }\n'


@pytest.fixture(autouse=True)
def _go() -> None:
    require_go()


def write_module(project: Project, rel: str, files: dict[str, str], path: str = "") -> None:
    project.write(f"{rel}/go.mod", f"module {path or 'example.com/' + rel}\n\ngo 1.21\n")
    for name, text in files.items():
        project.write(f"{rel}/{name}", text)


def out(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def headers(result: subprocess.CompletedProcess[str], verb: str) -> list[str]:
    """The modules a run worked on, from its `==> lint <module> (...)` headers."""
    return re.findall(rf"^==> {verb} (\S+)", result.stdout, re.MULTILINE)


def package_line(stdout: str, package: str) -> tuple[str, str]:
    """(ok|FAIL, "2 passed, 1 failed") from the summary line of one package."""
    pattern = rf"^(ok|FAIL)\s+{re.escape(package)}\s+(?:\d+\.\d+s|\(cached\))\s+(.+)$"
    match = re.search(pattern, stdout, re.MULTILINE)
    assert match, f"no summary line for {package} in:\n{stdout}"
    return match.group(1), match.group(2).split("  ")[0].strip()


def go_env(name: str) -> str:
    return subprocess.run(
        ["go", "env", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def go_minor() -> tuple[int, int]:
    match = re.match(r"go(\d+)\.(\d+)", go_env("GOVERSION"))
    assert match
    return int(match.group(1)), int(match.group(2))


# -- discovery ------------------------------------------------------------------------------


@pytest.fixture
def two_modules(make_project: MakeProject) -> Project:
    """svc/a and lib/b, plus go.mod files in folders discovery must skip."""
    project = make_project(example=False, git=True)
    write_module(project, "svc/a", {"a.go": FORMATTED.format(pkg="a")})
    write_module(project, "lib/b", {"b.go": FORMATTED.format(pkg="b")})
    for decoy in ("vendor/x", "testdata/y", ".hidden/z", "_old"):
        write_module(project, decoy, {"decoy.go": DECOY}, path="example.com/decoy")
    project.commit_all("modules")
    return project


def test_lint_finds_every_go_mod_but_vendor_testdata_hidden_and_underscore(
    two_modules: Project,
) -> None:
    result = two_modules.inv("lint")
    assert result.returncode == 0, out(result)
    assert sorted(headers(result, "lint")) == ["lib/b", "svc/a"]


def test_go_work_single_use_line_selects_its_module(two_modules: Project) -> None:
    two_modules.write("go.work", "go 1.21\n\nuse ./svc/a\n")
    result = two_modules.inv("lint")
    assert result.returncode == 0, out(result)
    assert headers(result, "lint") == ["svc/a"]


def test_go_work_use_block_selects_its_modules(two_modules: Project) -> None:
    two_modules.write("go.work", "go 1.21\n\nuse (\n\t./svc/a // the service\n\t./lib/b\n)\n")
    result = two_modules.inv("lint")
    assert result.returncode == 0, out(result)
    assert sorted(headers(result, "lint")) == ["lib/b", "svc/a"]


def test_config_modules_list_replaces_discovery(two_modules: Project) -> None:
    base = two_modules.root / "config" / "base.yaml"
    two_modules.write("config/base.yaml", "modules: [lib/b]\n" + base.read_text())
    result = two_modules.inv("lint")
    assert result.returncode == 0, out(result)
    assert headers(result, "lint") == ["lib/b"]


def test_module_option_lints_one_module_by_folder_or_module_path(two_modules: Project) -> None:
    by_folder = two_modules.inv("lint", "--module", "svc/a")
    assert by_folder.returncode == 0, out(by_folder)
    assert headers(by_folder, "lint") == ["svc/a"]
    by_path = two_modules.inv("lint", "--module", "example.com/lib/b")
    assert by_path.returncode == 0, out(by_path)
    assert headers(by_path, "lint") == ["lib/b"]


def test_unknown_module_is_a_one_line_usage_error_listing_the_modules(
    two_modules: Project,
) -> None:
    result = two_modules.inv("lint", "--module", "nope")
    assert result.returncode == 2, out(result)
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "nope" in message and "svc/a" in message and "lib/b" in message
    assert headers(result, "lint") == []


def test_go_work_use_of_a_missing_folder_is_a_usage_error(two_modules: Project) -> None:
    two_modules.write("go.work", "go 1.21\n\nuse ./missing\n")
    result = two_modules.inv("lint")
    assert result.returncode == 2, out(result)
    assert "go.work:3" in result.stderr and "./missing" in result.stderr
    assert "Traceback" not in out(result)


# -- gofmt, vet, tidy -----------------------------------------------------------------------

UGLY = "package app\n\nfunc  F( ) {}\n"


@pytest.fixture
def unformatted(make_project: MakeProject) -> Project:
    project = make_project(example=False, git=True)
    write_module(
        project,
        "app",
        {
            "ok.go": "package app\n\nfunc G() int { return 1 }\n",
            "ugly.go": UGLY,
            "testdata/fixture.go": UGLY,
            "vendor/example.com/v/v.go": UGLY,
        },
    )
    project.commit_all("unformatted")
    return project


def test_gofmt_lists_unformatted_files_fails_and_changes_nothing(unformatted: Project) -> None:
    before = unformatted.tree_snapshot()
    result = unformatted.inv("lint")
    assert result.returncode == 1, out(result)
    listed = re.findall(r"^\s+(\S+\.go)$", result.stdout, re.MULTILINE)
    assert listed == ["app/ugly.go"], result.stdout
    assert "testdata" not in result.stdout and "vendor" not in result.stdout
    assert unformatted.tree_snapshot() == before


def test_lint_fix_formats_the_module_and_leaves_testdata_and_vendor(unformatted: Project) -> None:
    fixed = unformatted.inv("lint", "--fix")
    assert fixed.returncode == 0, out(fixed)
    app = unformatted.root / "app"
    gofmt = subprocess.run(
        ["gofmt", "-l", "ugly.go", "ok.go"], cwd=app, capture_output=True, text=True, check=True
    )
    assert gofmt.stdout == ""
    assert (app / "testdata" / "fixture.go").read_text() == UGLY
    assert (app / "vendor" / "example.com" / "v" / "v.go").read_text() == UGLY
    again = unformatted.inv("lint")
    assert again.returncode == 0, out(again)


def test_go_vet_problem_fails_naming_file_and_line(make_project: MakeProject) -> None:
    project = make_project(example=False, git=True)
    vet = 'package app\n\nimport "fmt"\n\nfunc V() {\n\tfmt.Printf("%d\\n", "x")\n}\n'
    write_module(project, "app", {"vet.go": vet})
    project.commit_all("vet")
    result = project.inv("lint")
    assert result.returncode == 1, out(result)
    assert re.search(r"vet\.go:6:\d+: .*Printf", result.stdout), result.stdout


@pytest.fixture
def untidy(make_project: MakeProject) -> Project:
    """app requires example.com/dep (a local replace, so no network) but imports nothing."""
    if go_minor() < (1, 23):
        pytest.skip("the tidiness check needs `go mod tidy -diff` (Go 1.23 or later)")
    project = make_project(example=False, git=True)
    write_module(project, "dep", {"dep.go": FORMATTED.format(pkg="dep")})
    write_module(project, "app", {"app.go": FORMATTED.format(pkg="app")})
    project.write(
        "app/go.mod",
        "module example.com/app\n\ngo 1.21\n\nrequire example.com/dep v0.0.0\n\n"
        "replace example.com/dep => ../dep\n",
    )
    project.commit_all("untidy")
    return project


def test_untidy_go_mod_fails_without_changing_it(untidy: Project) -> None:
    gomod = untidy.root / "app" / "go.mod"
    original = gomod.read_bytes()
    before = untidy.tree_snapshot()
    result = untidy.inv("lint", "--module", "app")
    assert result.returncode == 1, out(result)
    assert "tidy" in result.stdout
    assert "example.com/dep" in result.stdout  # the diff shows what tidy would drop
    assert gomod.read_bytes() == original
    assert untidy.tree_snapshot() == before


def test_lint_fix_tidies_go_mod_and_lint_then_passes(untidy: Project) -> None:
    fixed = untidy.inv("lint", "--fix")
    assert fixed.returncode == 0, out(fixed)
    assert "require" not in (untidy.root / "app" / "go.mod").read_text()
    again = untidy.inv("lint")
    assert again.returncode == 0, out(again)


# -- golangci-lint --------------------------------------------------------------------------


def path_without_golangci_lint() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    kept = [d for d in dirs if not (Path(d) / "golangci-lint").exists()]
    path = os.pathsep.join(kept)
    if shutil.which("go", path=path) is None:
        pytest.skip("go and golangci-lint share a PATH folder; cannot hide golangci-lint")
    return path


@pytest.fixture
def clean_module(make_project: MakeProject) -> Project:
    project = make_project(example=False, git=True)
    write_module(project, "app", {"app.go": FORMATTED.format(pkg="app")})
    project.commit_all("app")
    return project


def test_golangci_lint_required_but_missing_fails_naming_it(clean_module: Project) -> None:
    base = clean_module.root / "config" / "base.yaml"
    text = base.read_text()
    assert "golangci_lint: auto" in text
    clean_module.write(
        "config/base.yaml", text.replace("golangci_lint: auto", "golangci_lint: required")
    )
    result = clean_module.inv("lint", env={"PATH": path_without_golangci_lint()})
    assert result.returncode == 1, out(result)
    assert "golangci-lint" in out(result)
    assert "install" in out(result)
    assert "Traceback" not in out(result)


def test_golangci_lint_auto_without_the_binary_passes(clean_module: Project) -> None:
    result = clean_module.inv("lint", env={"PATH": path_without_golangci_lint()})
    assert result.returncode == 0, out(result)
    assert headers(result, "lint") == ["app"]


# -- go test --------------------------------------------------------------------------------

CALC_TESTS = """package calc

import "testing"

func TestPass(t *testing.T) {}

func TestAlsoPasses(t *testing.T) {}

func TestFail(t *testing.T) {
	t.Logf("MY-FAILURE-DETAIL")
	t.Fail()
}

func TestSkipped(t *testing.T) {
	t.Skip("not here")
}
"""

NOISY_TEST = """package calc

import "testing"

func TestNoisy(t *testing.T) {
	for i := 0; i < 50; i++ {
		t.Log("NOISE-LINE", i)
	}
}
"""


def test_failure_report_shows_the_failing_test_and_none_of_the_noise(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False, git=True)
    write_module(project, "calc", {"calc_test.go": CALC_TESTS, "noisy_test.go": NOISY_TEST})
    result = project.inv("test")
    assert result.returncode == 1, out(result)
    assert headers(result, "test") == ["calc"]
    assert "TestFail" in result.stdout
    assert "MY-FAILURE-DETAIL" in result.stdout
    assert "NOISE-LINE" not in result.stdout
    assert "TestNoisy" not in result.stdout
    assert "Traceback" not in out(result)


def test_package_line_counts_passed_failed_and_skipped(make_project: MakeProject) -> None:
    project = make_project(example=False, git=True)
    write_module(project, "calc", {"calc_test.go": CALC_TESTS})
    result = project.inv("test")
    assert result.returncode == 1, out(result)
    assert package_line(result.stdout, "example.com/calc") == (
        "FAIL",
        "2 passed, 1 failed, 1 skipped",
    )


def test_junit_report_holds_every_module_and_the_failure_output(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False, git=True)
    # alpha sorts first and passes, so beta's failure comes after both have run.
    alpha = 'package alpha\n\nimport "testing"\n\nfunc TestA(t *testing.T) {}\n'
    write_module(project, "alpha", {"alpha_test.go": alpha})
    write_module(
        project, "beta", {"calc_test.go": CALC_TESTS.replace("package calc", "package beta")}
    )
    result = project.inv("test", "--junit", "out/report.xml")
    assert result.returncode == 1, out(result)
    assert sorted(headers(result, "test")) == ["alpha", "beta"]

    root = ET.parse(project.root / "out" / "report.xml").getroot()
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"example.com/alpha", "example.com/beta"}
    assert [case.get("name") for case in suites["example.com/alpha"].iter("testcase")] == ["TestA"]
    beta = suites["example.com/beta"]
    assert (beta.get("tests"), beta.get("failures"), beta.get("skipped")) == ("4", "1", "1")
    cases = {case.get("name"): case for case in beta.iter("testcase")}
    failure = cases["TestFail"].find("failure")
    assert failure is not None and "MY-FAILURE-DETAIL" in (failure.text or "")
    assert cases["TestSkipped"].find("skipped") is not None
    assert cases["TestPass"].find("failure") is None


COVERED = """package {pkg}

func Add(a, b int) int {{ return a + b }}

func Unused(x int) int {{
	if x > 0 {{
		return 1
	}}
	return 2
}}
"""
COVER_TEST = """package {pkg}

import "testing"

func TestAdd(t *testing.T) {{
	if Add(1, 2) != 3 {{
		t.Fatal("Add")
	}}
}}
"""


def test_cover_writes_a_profile_per_module_and_prints_the_total(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False, git=True)
    # calc: 1 of 4 statements covered; util: Add only, all covered.
    write_module(
        project,
        "calc",
        {"calc.go": COVERED.format(pkg="calc"), "calc_test.go": COVER_TEST.format(pkg="calc")},
    )
    util = "package util\n\nfunc Add(a, b int) int { return a + b }\n"
    write_module(project, "util", {"util.go": util, "util_test.go": COVER_TEST.format(pkg="util")})
    result = project.inv("test", "--cover")
    assert result.returncode == 0, out(result)
    for name in ("calc", "util"):
        profile = project.root / ".gotasks" / "cover" / f"{name}.out"
        assert profile.is_file(), f"no {profile}"
        assert profile.read_text().startswith("mode: ")
    assert "coverage: 25.0% of statements" in result.stdout
    assert "coverage: 100.0% of statements" in result.stdout


TWO_TESTS = """package calc

import "testing"

func TestOnlyThis(t *testing.T) {}

func TestOther(t *testing.T) {}
"""


def test_run_selects_the_matching_tests(make_project: MakeProject) -> None:
    project = make_project(example=False, git=True)
    write_module(project, "calc", {"calc_test.go": TWO_TESTS})
    result = project.inv("test", "--run", "TestOnlyThis", "--junit", "out/run.xml")
    assert result.returncode == 0, out(result)
    assert package_line(result.stdout, "example.com/calc") == ("ok", "1 passed")
    root = ET.parse(project.root / "out" / "run.xml").getroot()
    assert [case.get("name") for case in root.iter("testcase")] == ["TestOnlyThis"]


def test_count_runs_each_test_n_times(make_project: MakeProject) -> None:
    project = make_project(example=False, git=True)
    write_module(project, "calc", {"calc_test.go": TWO_TESTS})
    result = project.inv("test", "--count", "2", "--junit", "out/count.xml")
    assert result.returncode == 0, out(result)
    assert "Traceback" not in out(result)
    assert package_line(result.stdout, "example.com/calc") == ("ok", "4 passed")
    root = ET.parse(project.root / "out" / "count.xml").getroot()
    names = sorted(case.get("name") or "" for case in root.iter("testcase"))
    assert names == ["TestOnlyThis", "TestOnlyThis", "TestOther", "TestOther"]


RACY_TEST = """package calc

import "testing"

func TestRacy(t *testing.T) {
	x := 0
	done := make(chan bool)
	go func() { x++; done <- true }()
	x++
	<-done
	_ = x
}
"""


def test_race_detector_catches_a_data_race(make_project: MakeProject) -> None:
    if go_env("CGO_ENABLED") != "1":
        pytest.skip("the race detector needs cgo, and `go env CGO_ENABLED` is not 1")
    compiler = go_env("CC").split()[0] if go_env("CC") else "gcc"
    if shutil.which(compiler) is None:
        pytest.skip(f"the race detector needs a C compiler; {compiler!r} is not on PATH")
    project = make_project(example=False, git=True)
    write_module(project, "calc", {"racy_test.go": RACY_TEST})
    plain = project.inv("test")
    assert plain.returncode == 0, out(plain)
    raced = project.inv("test", "--race")
    assert raced.returncode == 1, out(raced)
    assert "DATA RACE" in raced.stdout
    assert "TestRacy" in raced.stdout


def test_build_error_in_a_test_shows_the_compiler_message(make_project: MakeProject) -> None:
    project = make_project(example=False, git=True)
    broken = (
        'package calc\n\nimport "testing"\n\n'
        'func TestBroken(t *testing.T) {\n\tvar x int = "s"\n\t_ = x\n}\n'
    )
    write_module(project, "calc", {"broken_test.go": broken})
    result = project.inv("test")
    assert result.returncode == 1, out(result)
    assert re.search(r"broken_test\.go:6:\d+: cannot use", result.stdout), result.stdout
    assert "Traceback" not in out(result)
