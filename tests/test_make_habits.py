"""What a Go developer coming from `make` reaches for: host-only builds, clean/install/run/fmt,
a default task, go test's own flags, and progress of a long build. Real go, real git."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, clean_env, require_go

MakeProject = Callable[..., Project]
pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _go() -> None:
    require_go()


def host_target() -> str:
    out = subprocess.run(
        ["go", "env", "GOHOSTOS", "GOHOSTARCH"], capture_output=True, text=True, check=True
    ).stdout.split()
    return "/".join(out)


def other_target() -> str:
    return "linux/arm64" if host_target() != "linux/arm64" else "linux/amd64"


def set_config(project: Project, pattern: str, replacement: str) -> None:
    base = project.root / "config" / "base.yaml"
    text, count = re.subn(pattern, replacement, base.read_text(), flags=re.MULTILINE)
    assert count == 1, f"config/base.yaml has no line matching {pattern!r}"
    base.write_text(text)


def with_targets(make_project: MakeProject, targets: list[str]) -> Project:
    project = make_project()
    set_config(project, r"^  targets: .*$", f"  targets: [{', '.join(targets)}]")
    project.commit_all("targets")
    return project


def dist_folders(project: Project) -> set[str]:
    dist = project.root / "dist"
    return {p.name for p in dist.iterdir() if p.is_dir() and not p.name.startswith(".")}


def folder(target: str) -> str:
    return "hello_" + target.replace("/", "_")


def both(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, both(result)
    assert "Traceback" not in both(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- 1. build less than the whole matrix ----------------------------------------------------


def test_build_host_builds_this_machine_only(make_project: MakeProject) -> None:
    project = with_targets(make_project, [other_target(), "windows/amd64", host_target()])
    result = project.inv("build", "--host")
    assert result.returncode == 0, both(result)
    assert dist_folders(project) == {folder(host_target())}
    sums = (project.root / "dist" / "SHA256SUMS").read_text()
    assert f"{folder(host_target())}/hello" in sums and "windows" not in sums


def test_build_target_is_repeatable_and_comma_separated(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target()])
    result = project.inv(
        "build", "--target", "windows/amd64, darwin/arm64", "--target", other_target()
    )
    assert result.returncode == 0, both(result)
    assert dist_folders(project) == {
        folder("windows/amd64"),
        folder("darwin/arm64"),
        folder(other_target()),
    }
    assert (project.root / "dist" / folder("windows/amd64") / "hello.exe").is_file()


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--target", "linux"], "--target: 'linux' is not GOOS/GOARCH"),
        (["--target", "plan9/arm64x"], "'plan9/arm64x' is not a target go"),
        (["--host", "--target", "linux/amd64"], "--host and --target"),
        (["--package", "./cmd/nope"], "no main package './cmd/nope'; main packages: ./cmd/hello"),
    ],
)
def test_build_refuses_bad_flags_in_one_line_and_builds_nothing(
    make_project: MakeProject, flags: list[str], says: str
) -> None:
    project = with_targets(make_project, [host_target()])
    result = project.inv("build", *flags)
    assert says in one_line_error(result)
    assert not (project.root / "dist").exists() or not dist_folders(project)


def test_build_package_builds_that_main_package_only(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target()])
    project.write("hello/cmd/other/main.go", 'package main\n\nfunc main() { println("x") }\n')
    project.commit_all("a second main package")
    result = project.inv("build", "--package", "./cmd/other")
    assert result.returncode == 0, both(result)
    built = sorted(p.name for p in (project.root / "dist" / folder(host_target())).iterdir())
    assert built == ["other"]


# -- 5. a long build says where it is --------------------------------------------------------


def test_piped_build_prints_a_line_per_finished_target(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target(), other_target()])
    result = project.inv("build")
    assert result.returncode == 0, both(result)
    done = re.findall(r"^(\S+) built \((\d)/2 targets\) in \S+$", result.stdout, re.MULTILINE)
    assert sorted(n for _, n in done) == ["1", "2"], result.stdout
    assert {t for t, _ in done} == {host_target(), other_target()}


def test_piped_ci_shows_build_progress_before_the_build_block(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target(), other_target()])
    result = project.inv("ci")
    assert result.returncode == 0, both(result)
    lines = result.stdout.splitlines()
    progress = [i for i, line in enumerate(lines) if re.search(r"built \(\d/2 targets\)", line)]
    block = next(i for i, line in enumerate(lines) if re.match(r"ok\s+build\[hello\]", line))
    # printed as each target finished, not held back in the block printed at the end
    assert len(progress) == 2 and max(progress) < block, result.stdout
    assert all(lines[i].startswith("[build[hello]] ") for i in progress)


def run_in_terminal(project: Project, *args: str) -> str:
    """`inv ARGS` with a terminal as its stdout (where the live status line shows)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=clean_env(COLUMNS="200", LINES="50"),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 600)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: every process holding it has exited
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_live_status_line_shows_the_builds_targets(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target(), other_target()])
    output = run_in_terminal(project, "build", "lint")
    # the status line: [1/2] running: build[hello]: 0/2 targets, linux/arm64 linking | cpu ...
    assert re.search(r"running: [^|\r]*build\[hello\]: [0-2]/2 targets", output), output


# -- 3. clean, install, run, fmt, and a default task --------------------------------------------


def test_clean_removes_dist_and_scratch_and_all_also_the_state(make_project: MakeProject) -> None:
    project = with_targets(make_project, [host_target()])
    assert project.inv("build").returncode == 0
    assert project.inv("test", "--cover").returncode == 0
    state = project.root / ".gotasks"
    assert (state / "cover").is_dir() and (state / "history.json").is_file()
    result = project.inv("clean")
    assert result.returncode == 0, both(result)
    assert not (project.root / "dist").exists()
    assert not (state / "cover").exists()
    assert (state / "history.json").is_file()  # the state stays without --all
    (state / "bench" / "dev").mkdir(parents=True)
    (state / "bench" / "dev" / "run.txt").write_text("BenchmarkX 1 2 ns/op\n")
    result = project.inv("clean", "--all")
    assert result.returncode == 0, both(result)
    assert "removing .gotasks/history.json" in result.stdout
    assert "removing .gotasks/bench" in result.stdout
    # the run that cleaned did not write its history back
    assert not state.exists(), sorted(p.name for p in state.iterdir())
    assert project.git("status", "--porcelain") == ""


def test_install_puts_the_stamped_binary_in_gobin(
    make_project: MakeProject, tmp_path: Path
) -> None:
    project = make_project()
    gobin = tmp_path / "bin"
    result = project.inv("install", env={"GOBIN": str(gobin)})
    assert result.returncode == 0, both(result)
    assert f"./cmd/hello -> {gobin / 'hello'}" in result.stdout
    version = subprocess.run(
        [str(gobin / "hello"), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"commit: {project.git('rev-parse', 'HEAD')}" in version


def test_run_builds_for_the_host_and_passes_the_words_after_dashes(
    make_project: MakeProject,
) -> None:
    project = make_project()
    result = project.inv("run", "--", "version")
    assert result.returncode == 0, both(result)
    assert f"commit: {project.git('rev-parse', 'HEAD')}" in result.stdout
    # one word with a space stays one word; the program's failure is the run's
    result = project.inv("run", "--", "two words")
    assert result.returncode == 1, both(result)
    assert 'unknown command "two words"' in result.stderr
    assert "hello exited with 2" in result.stderr


def test_run_asks_which_main_package_when_there_are_several(make_project: MakeProject) -> None:
    project = make_project()
    project.write("hello/cmd/other/main.go", 'package main\n\nfunc main() { println("x") }\n')
    line = one_line_error(project.inv("run"))
    assert "--package one of: ./cmd/hello, ./cmd/other" in line
    result = project.inv("run", "--package", "./cmd/other")
    assert result.returncode == 0, both(result)
    assert "x" in result.stderr


UGLY = "package greet\n\nfunc  Ugly( )  int {\nreturn 1}\n"


def test_fmt_formats_and_nothing_else(make_project: MakeProject) -> None:
    project = make_project()
    ugly = project.write("hello/greet/ugly.go", UGLY)
    go_mod = project.root / "hello" / "go.mod"
    go_mod.write_text(go_mod.read_text() + "\nrequire example.com/unused v1.0.0\n")
    before = go_mod.read_text()
    assert project.inv("lint").returncode == 1
    result = project.inv("fmt")
    assert result.returncode == 0, both(result)
    assert ugly.read_text() == "package greet\n\nfunc Ugly() int {\n\treturn 1\n}\n"
    assert go_mod.read_text() == before  # tidying is lint --fix's other half, not fmt's


def test_bare_inv_runs_the_configured_default_task(make_project: MakeProject) -> None:
    project = make_project()
    result = project.inv()
    assert result.returncode == 0, both(result)
    assert "==> ci: done" in result.stdout  # ci unless set
    set_config(project, r"^default_task: .*$", "default_task: lint")
    result = project.inv()
    assert result.returncode == 0, both(result)
    assert re.findall(r"^==> (\w+)", result.stdout, re.MULTILINE) == ["lint"]


def test_an_unknown_default_task_is_one_line_with_its_place(make_project: MakeProject) -> None:
    project = make_project()
    set_config(project, r"^default_task: .*$", "default_task: deploy")
    line = one_line_error(project.inv())
    assert line.startswith("config/base.yaml:")
    assert "no task 'deploy' to run by default" in line and "ci" in line


# -- 4. go test's own flags ------------------------------------------------------------------

FLAG_TESTS = """package calc

import "testing"

func TestLong(t *testing.T) {
	if testing.Short() {
		t.Skip("SHORT-MODE")
	}
}

func TestFirstFailure(t *testing.T) { t.Fatal("FIRST") }

func TestSecondFailure(t *testing.T) { t.Fatal("SECOND") }
"""


OK_TEST = 'package ok\n\nimport "testing"\n\nfunc TestOK(t *testing.T) {}\n'


@pytest.fixture
def calc(make_project: MakeProject) -> Project:
    project = make_project(example=False)
    project.write("calc/go.mod", "module example.com/calc\n\ngo 1.21\n")
    project.write("calc/calc_test.go", FLAG_TESTS)
    project.write(
        "calc/ok/ok_test.go", 'package ok\n\nimport "testing"\n\nfunc TestOK(t *testing.T) {}\n'
    )
    project.commit_all("calc")
    return project


def test_short_and_failfast_reach_go_test(calc: Project) -> None:
    plain = calc.inv("test")
    assert "1 passed, 2 failed" in plain.stdout, both(plain)
    result = calc.inv("test", "--short", "--failfast")
    assert result.returncode == 1, both(result)
    assert "calc  " in result.stdout and "  1 failed, 1 skipped" in result.stdout
    assert "FIRST" in result.stdout and "SECOND" not in result.stdout


def test_verbose_streams_every_test_and_still_reports(calc: Project) -> None:
    result = calc.inv("test", "--verbose", "--packages", "./ok/...")
    assert result.returncode == 0, both(result)
    lines = result.stdout.splitlines()
    run = lines.index("=== RUN   TestOK")
    summary = next(i for i, line in enumerate(lines) if line.startswith("ok: 1 packages"))
    assert run < summary
    assert "TestLong" not in result.stdout  # --packages kept the calc package out


def test_words_after_dashes_go_to_go_test(calc: Project) -> None:
    result = calc.inv("test", "--", "-run", "TestLong|TestOK", "-count=1")
    assert result.returncode == 0, both(result)
    assert "TestFirstFailure" not in result.stdout
    assert re.search(r"example\.com/calc\s+\S+\s+1 passed", result.stdout), result.stdout


def test_cached_packages_say_cached(make_project: MakeProject) -> None:
    project = make_project()
    assert project.inv("test").returncode == 0
    result = project.inv("test")
    assert result.returncode == 0, both(result)
    line = next(x for x in result.stdout.splitlines() if "example.com/hello/stats" in x)
    assert "(cached)" in line and "0.00s" not in line
    assert re.search(r"\(cached\)\s+\d+ passed", line), line


def test_cover_html_writes_the_page_and_prints_its_path(make_project: MakeProject) -> None:
    project = make_project()
    result = project.inv("test", "--cover", "--html")
    assert result.returncode == 0, both(result)
    page = project.root / ".gotasks" / "cover" / "hello.html"
    assert f"coverage HTML: {page}" in result.stdout
    assert "<html" in page.read_text() and "stats.go" in page.read_text()


def test_ci_takes_module_and_the_test_flags(make_project: MakeProject) -> None:
    project = make_project()
    set_config(project, r"^  targets: .*$", f"  targets: [{host_target()}]")
    project.write("other/go.mod", "module example.com/other\n\ngo 1.21\n")
    project.write("other/bad.go", "package other\n\nfunc  Bad( ) {}\n")  # would fail lint
    project.commit_all("a second module")
    result = project.inv("ci", "--module", "hello", "--verbose", "--run", "TestMean")
    assert result.returncode == 0, both(result)
    names = re.findall(r"^  (\w+\[[^\]]+\]|ci)\s", result.stdout, re.MULTILINE)
    assert sorted(names) == ["build[hello]", "ci", "lint[hello]", "test[hello]"], result.stdout
    assert "=== RUN   TestMean" in result.stdout
    assert "=== RUN   TestMedian" not in result.stdout
