"""gotasks as a user installs it: a wheel built from this checkout, pip-installed into a fresh
venv (conftest.installed), used from adopted repositories (the example, a real module from
the Go module cache) with `inv` and `gotasks`; and both commit hooks (the pre-commit
framework's, the plain git one) working in a shell with no virtualenv on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import (
    EXAMPLE,
    GO_ENV,
    Installed,
    Project,
    module_from_cache,
    require_go,
    statuses,
    sums_check,
    user_repo,
    without_golangci_lint,
)
from test_hooks import IDENTITY, UGLY, UGLY_LINE

import gotasks
from gotasks import precommit

pytestmark = pytest.mark.e2e

MakeProject = Callable[..., Project]
TARGETS = ("linux_amd64", "linux_arm64", "darwin_arm64", "windows_amd64")


@pytest.fixture(autouse=True)
def _go() -> None:
    require_go()


def site_packages(installed: Installed) -> Path:
    (found,) = installed.venv.glob("lib/python3*/site-packages")
    return found


def test_the_venv_has_gotasks_from_the_wheel_and_no_top_level_tasks(installed: Installed) -> None:
    site = site_packages(installed)
    assert not (site / "tasks").exists() and not (site / "tasks.py").exists()
    assert (site / "gotasks" / "__init__.py").is_file()
    for script in ("gotasks", "inv"):
        assert installed.bin(script).is_file(), script
    asked = installed.run(
        installed.bin("python"),
        "-c",
        "import gotasks, gotasks.installsource as s; print(gotasks.__file__);"
        " print(s.running().kind); print(s.requirement())",
        cwd=installed.venv,
    )
    assert asked.returncode == 0, asked.stderr
    where, kind, requirement = asked.stdout.splitlines()
    assert Path(where).is_relative_to(site)
    # What the hook's additional_dependencies get: the same wheel.
    assert (kind, requirement) == ("archive", f"gotasks @ {installed.wheel.as_uri()}")
    version = installed.run(installed.bin("gotasks"), "--version", cwd=installed.venv)
    assert version.stdout.strip() == f"gotasks {gotasks.__version__}", version.stderr


def init_with_the_installed_gotasks(installed: Installed, repo: Project) -> None:
    """`gotasks init .` from the venv, in the repository (no tasks.py there yet: the command
    offers init alone), then a commit of what it wrote."""
    done = installed.run(installed.bin("gotasks"), "init", ".", cwd=repo.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "written: tasks.py, invoke.yaml, config/" in done.stdout, done.stdout
    # The hook config names the wheel this gotasks came from.
    config = (repo.root / ".pre-commit-config.yaml").read_text()
    assert installed.wheel.as_uri() in config, config
    repo.commit_all("gotasks init")


def test_inv_ci_and_gotasks_ci_in_the_example_set_up_by_gotasks_init(
    installed: Installed, tmp_path: Path
) -> None:
    repo = user_repo(tmp_path / "hello", origin=EXAMPLE)
    init_with_the_installed_gotasks(installed, repo)
    for command in ("inv", "gotasks"):
        shutil.rmtree(repo.root / "dist", ignore_errors=True)
        done = installed.run(installed.bin(command), "ci", cwd=repo.root)
        assert done.returncode == 0, f"{command} ci:\n{done.stdout}\n{done.stderr}"
        for target in TARGETS:
            exe = ".exe" if target.startswith("windows") else ""
            assert (repo.root / "dist" / f"hello_{target}" / f"hello{exe}").is_file(), target
        sums_check(repo.root / "dist")


def test_inv_ci_in_a_real_module_set_up_by_gotasks_init(
    installed: Installed, tmp_path: Path
) -> None:
    repo = user_repo(tmp_path / "uuid", origin=module_from_cache(tmp_path / "scratch"))
    init_with_the_installed_gotasks(installed, repo)
    path = os.pathsep.join([str(installed.venv / "bin"), without_golangci_lint()])
    first = installed.run(
        installed.bin("inv"), "ci", "--keep-going", cwd=repo.root, PATH=path, **GO_ENV
    )
    ran = statuses(first.stdout)
    assert ran.get("test[uuid]") == "ok" and ran.get("build[uuid]") == "ok", (
        first.stdout + first.stderr
    )
    if first.returncode != 0:
        # uuid v1.6.0 predates gofmt's doc-comment and //go:build rewrites (Go 1.17, 1.19).
        assert ran.get("lint[uuid]") == "FAIL" and "gofmt" in first.stdout, first.stdout
        subprocess.run(["gofmt", "-w", "."], cwd=repo.root, check=True)
        repo.commit_all("gofmt")
    done = installed.run(installed.bin("inv"), "ci", cwd=repo.root, PATH=path, **GO_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = statuses(done.stdout)
    assert [ran.get(t) for t in ("lint[uuid]", "test[uuid]", "build[uuid]", "ci")] == ["ok"] * 4


def bare_path() -> str:
    """A shell's PATH with no virtualenv and no Python of ours: the system's folders and go's."""
    go = shutil.which("go")
    assert go is not None
    return os.pathsep.join(["/usr/bin", "/bin", str(Path(go).resolve().parent)])


def refused_then_accepted(
    project: Project, installed: Installed, expected: list[str], **env: str
) -> None:
    """An unformatted staged Go file is refused with gotasks' message; formatted, it commits.
    git runs with PATH holding only the system's folders and go's."""

    def git_commit() -> subprocess.CompletedProcess[str]:
        return installed.run(
            "git", "commit", "-m", "change", cwd=project.root, PATH=bare_path(), **IDENTITY, **env
        )

    before = project.git("rev-parse", "HEAD")
    project.write("hello/greet/ugly.go", UGLY)
    project.git("add", "hello/greet/ugly.go")
    refused = git_commit()
    shown = refused.stdout + refused.stderr
    assert refused.returncode != 0, shown
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in shown
    for text in expected:
        assert text in shown
    assert project.git("rev-parse", "HEAD") == before
    project.write("hello/greet/ugly.go", UGLY.replace("func  Ugly( )", "func Ugly()"))
    project.git("add", "hello/greet/ugly.go")
    accepted = git_commit()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert project.git("rev-parse", "HEAD") != before


def test_the_pre_commit_framework_hook_needs_no_virtualenv_on_path(
    installed: Installed, make_project: MakeProject, tmp_path: Path
) -> None:
    """The config init writes, gotasks from the wheel in additional_dependencies: pre-commit
    builds the hook's environment itself (a real pip install) and runs `gotasks` from it."""
    project = make_project()
    requirement = f"gotasks @ {installed.wheel.as_uri()}"
    project.write(".pre-commit-config.yaml", precommit.config_text(requirement))
    project.commit_all("pre-commit config")
    home = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    # pre-commit from the dev extras; the hook script it writes names that Python itself.
    done = installed.run(sys.executable, "-m", "pre_commit", "install", cwd=project.root, **home)
    assert done.returncode == 0, done.stdout + done.stderr
    refused_then_accepted(project, installed, [precommit.HOOK_ID], **home)
    # The hook's environment is pre-commit's own, with gotasks from the wheel.
    envs = list(Path(home["PRE_COMMIT_HOME"]).glob("repo*/py_env-*/bin/gotasks"))
    assert envs, list(Path(home["PRE_COMMIT_HOME"]).rglob("gotasks"))[:5]


def test_the_plain_git_hook_needs_no_virtualenv_on_path(
    installed: Installed, make_project: MakeProject
) -> None:
    """`inv hooks.install` from the venv embeds the venv's Python: no PATH needed."""
    project = make_project()
    done = installed.run(installed.bin("inv"), "hooks.install", cwd=project.root)
    assert done.returncode == 0, done.stdout + done.stderr
    hook = (project.root / ".git" / "hooks" / "pre-commit").read_text()
    assert str(installed.bin("python")) in hook and '"$python" -m gotasks lint --staged' in hook
    refused_then_accepted(project, installed, [])
