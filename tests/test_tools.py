"""Go tools pinned like SDKs: `inv tools.add` records a `tool` directive (go get -tool), and
bench and lint run the pinned tool with `go tool` before looking on PATH; a .golangci.yml
without a golangci-lint to run is a warning in lint and a named fix in doctor."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SOURCE, Project
from test_bench import without_benchstat

pytestmark = pytest.mark.e2e

MODULE = "module example.com/app\n\ngo 1.24\n"
BENCH = """package app

import "testing"

func BenchmarkAdd(b *testing.B) {
\tx := 0
\tfor i := 0; i < b.N; i++ {
\t\tx += i
\t}
\t_ = x
}
"""
# A stand-in golangci-lint, as a tool module next to the app: lint must run it through
# `go tool`, in the module, with its arguments, and report what it says.
FAKE_LINT_MAIN = """package main

import (
\t"fmt"
\t"os"
)

func main() {
\tfmt.Println("pinned golangci-lint ran with", os.Args[1:])
\tos.Exit(1)
}
"""


def benchstat_version() -> str:
    """The benchstat version .ci/run pins."""
    match = re.search(r"benchstat@(\S+)", (SOURCE / ".ci" / "run").read_text())
    assert match, ".ci/run pins no benchstat"
    return match.group(1)


def path_without(tool: str) -> str:
    folders = os.environ.get("PATH", "").split(os.pathsep)
    kept = os.pathsep.join(f for f in folders if not (Path(f) / tool).exists())
    if shutil.which("go", path=kept) is None:
        pytest.skip(f"go and {tool} share a PATH folder; cannot hide {tool}")
    return kept


def app(make_project: Callable[..., Project]) -> Project:
    project = make_project(example=False, git=False)
    project.write("go.mod", MODULE)
    project.write("app.go", "package app\n\nfunc F() int { return 1 }\n")
    return project


def tools_of(project: Project) -> list[str]:
    edit = subprocess.run(
        ["go", "mod", "edit", "-json"], cwd=project.root, capture_output=True, text=True
    )
    return re.findall(r'"Path": "([^"]+)"', edit.stdout.split('"Tool"', 1)[-1])


def test_tools_add_pins_benchstat_and_bench_runs_the_pinned_one(
    make_project: Callable[..., Project],
) -> None:
    project = app(make_project)
    project.write("app_test.go", BENCH)
    package = "golang.org/x/perf/cmd/benchstat"
    added = project.inv("tools.add", f"{package}@{benchstat_version()}")
    assert added.returncode == 0, added.stdout + added.stderr
    assert tools_of(project) == [package]
    assert benchstat_version() in (project.root / "go.mod").read_text()
    assert "go tool benchstat" in added.stdout
    # benchstat is not on PATH: the comparison still uses it, through go tool.
    env = without_benchstat()
    args = ("bench", "--count", "4", "--benchtime", "100x")
    assert project.inv(*args, env=env).returncode == 0
    second = project.inv(*args, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"compared with benchstat (go.mod tool {package})" in second.stdout
    assert "vs base" in second.stdout  # benchstat's own table
    assert "built-in Mann-Whitney" not in second.stdout


def test_tools_add_refuses_a_malformed_tool(make_project: Callable[..., Project]) -> None:
    project = app(make_project)
    before = (project.root / "go.mod").read_text()
    for wrong in ("@v1.0.0", "golang.org/x/perf/cmd/benchstat@"):
        out = project.inv("tools.add", wrong)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "PATH@VERSION" in out.stderr and "Traceback" not in out.stderr
    assert (project.root / "go.mod").read_text() == before


def test_lint_runs_a_golangci_lint_the_module_pins(make_project: Callable[..., Project]) -> None:
    project = app(make_project)
    project.write("lintfake/go.mod", "module example.com/lintfake\n\ngo 1.24\n")
    project.write("lintfake/cmd/golangci-lint/main.go", FAKE_LINT_MAIN)
    project.write(
        "go.mod",
        MODULE
        + "\ntool example.com/lintfake/cmd/golangci-lint\n"
        + "\nrequire example.com/lintfake v0.0.0\n"
        + "\nreplace example.com/lintfake => ./lintfake\n",
    )
    project.write(
        "config/dev.yaml", (project.root / "config/dev.yaml").read_text() + "modules: [.]\n"
    )
    out = project.inv("lint", env={"PATH": path_without("golangci-lint")})
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "golangci-lint (go tool)" in text
    assert "pinned golangci-lint ran with [run ./...]" in text


def test_a_golangci_config_without_golangci_lint_is_a_warning_and_doctor_names_the_fix(
    make_project: Callable[..., Project],
) -> None:
    project = app(make_project)
    path = path_without("golangci-lint")
    quiet = project.inv("lint", env={"PATH": path})
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "skip golangci-lint" in quiet.stdout  # nothing asked for it
    project.write(".golangci.yml", "version: 2\n")
    out = project.inv("lint", env={"PATH": path})
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "skip golangci-lint" not in text
    warning = next(line for line in text.splitlines() if "golangci-lint not run" in line)
    assert "warn" in warning and ".golangci.yml" in warning and "inv tools.add" in warning
    doctor = project.inv("doctor", env={"PATH": path})
    line = next(x for x in doctor.stdout.splitlines() if x.startswith("warn tools:"))
    assert ".golangci.yml configures it" in line
    assert "inv tools.add github.com/golangci/golangci-lint/v2/cmd/golangci-lint@" in line
