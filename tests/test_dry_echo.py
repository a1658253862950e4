"""invoke's --dry (-R) and --echo (-e) for gotasks: the plan and every command, as make -n."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from helpers import Project, require_go

from gotasks.engine.procs import echo_line

MakeProject = Callable[..., Project]


def test_an_echoed_line_names_the_variables_set_where_a_shell_applies_them() -> None:
    environ = {"PATH": "/usr/bin", "HOME": "/root", "GOFLAGS": "-mod=mod"}
    env = {**environ, "PATH": "/go/bin:/usr/bin", "GOFLAGS": "-tags=a b", "GOOS": "linux"}
    line = echo_line("cd '/a b' && go build ./...", env, environ)
    assert (
        line == "cd '/a b' && GOFLAGS='-tags=a b' GOOS=linux PATH=\"/go/bin:$PATH\" go build ./..."
    )
    assert echo_line("go version", environ, environ) == "go version"  # nothing set: nothing shown


@pytest.fixture
def project(make_project: MakeProject) -> Project:
    require_go()
    return make_project()


@pytest.mark.e2e
@pytest.mark.parametrize("flag", ["--dry", "-R"])
def test_dry_prints_the_plan_and_the_commands_and_runs_nothing(project: Project, flag: str) -> None:
    before = project.tree_snapshot()
    out = project.inv(flag, "ci")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    plan = [line for line in lines if re.match(r"\s+\d+\. ", line)]
    names = [line.split()[1] for line in plan]
    assert names == ["lint[hello]", "test[hello]", "build[hello]", "ci"]
    assert "pool lint" in plan[0] and "cpu " in plan[0] and "mem " in plan[0]
    assert plan[3].endswith("after lint[hello], test[hello], build[hello]")
    text = out.stdout
    # Under each task, the commands it would run, with the env's variables.
    assert re.search(r"(?m)^cd \S+ && .*GOFLAGS=.*/gofmt -l ", text)
    assert re.search(r"(?m)^cd \S+ && .*/go test -json ", text)
    # main packages were found (go list is read-only and runs), so the builds are shown
    assert "no main package" not in text
    builds = re.findall(r"(?m)^cd .* GOOS=(\w+) .*/go build .* -o (\S+) ", text)
    assert ("linux", str(project.root / "dist" / "hello_linux_amd64" / "hello")) in builds
    assert "# read-only: runs in a dry run too" in text
    # Nothing ran, nothing was written: no dist/, no report of results that do not exist.
    assert not (project.root / "dist").exists()
    assert project.tree_snapshot() == before
    assert not (project.root / ".gotasks" / "history.json").exists()
    assert "ok   gofmt" not in text and "summary" not in text


@pytest.mark.e2e
def test_echo_shows_every_command_with_its_variables_and_no_credentials(project: Project) -> None:
    proxy = {"GOTASKS_COMPANY_PROXY": "https://bob:hunter2@127.0.0.1:9"}
    out = project.inv("--echo", "test", "--env=prod", env=proxy)
    assert out.returncode == 0, out.stdout + out.stderr
    echoed = [line for line in out.stdout.splitlines() if line.startswith("cd ")]
    assert len(echoed) == 1 and "/go test -json " in echoed[0], out.stdout
    assert "GOPROXY=https://bob:***@127.0.0.1:9,direct" in echoed[0]
    assert "hunter2" not in out.stdout + out.stderr
    assert re.search(r"ok\s+example.com/hello/", out.stdout)  # and it really ran
