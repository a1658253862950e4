"""The layout: inv lists and documents every task; inv, pytest and an installed copy agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SOURCE, Project, clean_env

# Every check here starts a process: inv, pip, mypy or ruff over the whole tree.
pytestmark = pytest.mark.e2e

TASKS = (
    "bench",
    "bench.report",
    "build",
    "ci",
    "clean",
    "default",
    "fmt",
    "install",
    "run",
    "env",
    "lint",
    "test",
    "doctor",
    "init",
    "sdk.install",
    "sdk.list",
    "sdk.use",
    "sdk.remove",
    "sdk.env",
    "hooks.install",
    "hooks.uninstall",
    "docker.build",
    "docker.context",
    "tools.add",
)


def run(*args: str, cwd: Path = SOURCE, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, env=clean_env(**env), capture_output=True, text=True, check=False
    )


def test_inv_list_shows_every_task_with_a_help_line() -> None:
    out = run(sys.executable, "-m", "invoke", "--list")
    assert out.returncode == 0, out.stderr
    for name in TASKS:
        # A collection's default task is listed as `bench.bench (bench)`.
        line = next(
            (
                x
                for x in out.stdout.splitlines()
                if x.strip().startswith(name + " ") or f"({name})" in x.split()[1:2]
            ),
            "",
        )
        words = line.split()
        assert len(words) > 2 + ("(" in line), f"{name} has no help line in:\n{out.stdout}"


@pytest.mark.parametrize("name", TASKS)
def test_inv_help_documents_every_flag(name: str) -> None:
    out = run(sys.executable, "-m", "invoke", "-h", name)
    assert out.returncode == 0, out.stderr
    options = out.stdout.split("Options:", 1)[1]
    # The task's own flags, each with its help; the run-wide ones named in one closing line.
    run_wide = [line for line in options.splitlines() if line.startswith("Run-wide options")]
    assert len(run_wide) == 1 and "--jobs" in run_wide[0] and "--keep-going" in run_wide[0]
    assert "--env" in options  # the task's own (doctor's) or a run-wide one
    for line in options.splitlines():
        if line.strip().startswith("-"):
            # a flag followed by its help text on the same line
            assert len(line.split("  ")) > 1 and line.split("  ")[-1].strip(), line
            assert not line.split()[0].startswith(("--keep-going", "--trace")), line


def test_shell_completion_as_the_readme_sets_it_up() -> None:
    script = run(sys.executable, "-m", "invoke", "--print-completion-script", "bash")
    assert script.returncode == 0 and "complete -F _complete_invoke" in script.stdout
    tasks = run(sys.executable, "-m", "invoke", "--complete", "--", "inv", "sdk.")
    assert {"sdk.install", "sdk.use", "docker.build"} <= set(tasks.stdout.split())
    flags = run(sys.executable, "-m", "invoke", "--complete", "--", "inv", "test", "--")
    assert {"--race", "--cover", "--env", "--go"} <= set(flags.stdout.split())


def test_pytest_imports_the_gotasks_package_of_this_checkout() -> None:
    import gotasks.engine

    assert Path(gotasks.engine.__file__ or "").resolve().parent == SOURCE / "gotasks" / "engine"


def test_an_installed_copy_is_the_gotasks_package_alone(tmp_path: Path) -> None:
    """pip install into a folder of its own: `gotasks` and nothing named `tasks`, which would
    collide with the tasks.py (or tasks/ package) of every project that uses it."""
    target = tmp_path / "site"
    # Build from a copy: pip would leave build/ and *.egg-info in the checkout itself.
    source = tmp_path / "src"
    shutil.copytree(
        SOURCE,
        source,
        ignore=shutil.ignore_patterns(".git", "__pycache__", "build", "*.egg-info", ".gotasks"),
    )
    install = run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(target),
        str(source),
    )
    assert install.returncode == 0, install.stderr
    installed = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")}
    # bin/: the `gotasks` command (pip puts a --target install's scripts there).
    assert installed == {"gotasks", "bin"}, installed
    assert (target / "bin" / "gotasks").is_file()
    script = (
        "import gotasks; ns = gotasks.namespace();"
        "print(gotasks.__file__);"
        "print(sorted({*ns.task_names, *sum(ns.task_names.values(), [])}))"
    )
    out = run(sys.executable, "-c", script, cwd=tmp_path, PYTHONPATH=str(target))
    assert out.returncode == 0, out.stderr
    first, names = out.stdout.splitlines()
    assert Path(first).resolve() == (target / "gotasks" / "__init__.py").resolve()
    for name in TASKS:
        assert repr(name) in names


def test_mypy_strict_is_clean() -> None:
    if shutil.which("mypy") is None:
        pytest.fail("mypy is not installed: pip install -e '.[dev]'")
    out = run("mypy")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean() -> None:
    if shutil.which("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    check = run("ruff", "check", "gotasks", "tasks.py", "tests")
    assert check.returncode == 0, check.stdout
    fmt = run("ruff", "format", "--check", "gotasks", "tasks.py")
    assert fmt.returncode == 0, fmt.stdout


def readme_custom_task() -> str:
    """The python block of the README's "Your own tasks" paragraph, as a user copies it."""
    text = (SOURCE / "README.md").read_text()
    after = text[text.index("Your own tasks go in") :]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readmes_custom_task_works_as_pasted(make_project: Callable[..., Project]) -> None:
    project = make_project(example=False)
    project.write("go.mod", "module example.com/gen\n\ngo 1.21\n")
    # go generate runs with the task's environment: record what it saw
    project.write(
        "gen.go",
        'package gen\n\n//go:generate sh -c "echo $GOFLAGS > generated.txt"\n',
    )
    project.commit_all("a module with a generator")
    with (project.root / "tasks.py").open("a") as handle:
        handle.write("\n\n" + readme_custom_task())
    out = project.inv("generate", "--env=prod")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "==> lint gen (example.com/gen) [prod, go" in out.stdout  # the pre task ran, with prod
    assert "-tags=prod,netgo,osusergo" in (project.root / "generated.txt").read_text()
