"""The layout: the layers import only downwards; inv lists and documents every task; inv,
pytest and an installed copy agree."""

from __future__ import annotations

import ast
import functools
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SOURCE, Project, clean_env

# Every check here but the layer rules starts a process (inv, pip, mypy or ruff over the
# whole tree), and is marked e2e.

# The layers, bottom up, and what each may import of gotasks (see ARCHITECTURE.md). The
# container code builds Go modules into images, so it may use the Go domain; go never
# imports container. The app (settings, context, the task modules, the namespace) sits on
# top and may import every layer, but a task module never imports another task module.
MAY_IMPORT = {
    "core": {"core"},
    "engine": {"core", "engine"},
    "go": {"core", "go"},
    "container": {"core", "go", "container"},
}
# Composes the task modules into one collection: above them, not one of them.
COMPOSER = "namespace"


def layer_of(rel: Path) -> str:
    """gotasks/<layer>/... -> layer; a module at the package's top is the app's."""
    return rel.parts[1] if rel.parts[1] in MAY_IMPORT else "app"


@functools.cache
def _parsed(text: str) -> ast.Module:
    """A module's syntax tree by its text: the planted-import tests scan copies of the
    package in which one file differs, and parsing every file again took a second each."""
    return ast.parse(text)


def gotasks_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every gotasks import in the file: lazy ones inside functions and
    those only for type checking too (a dependency is one however it is loaded)."""
    found = []
    for node in ast.walk(_parsed(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gotasks":  # from gotasks import build: the module build
                found += [(node.lineno, f"gotasks.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.startswith("gotasks.")]


def wrong_way_imports(root: Path) -> list[str]:
    """Every import against the layers, as `file:line: imports X (the rule it breaks)`."""
    package = root / "gotasks"
    modules = sorted(package.rglob("*.py"))
    tasks = {
        f"gotasks.{path.stem}"
        for path in modules
        if path.parent == package and _defines_tasks(path) and path.stem != COMPOSER
    }
    problems = []
    for path in modules:
        rel = path.relative_to(root)
        layer = layer_of(rel)
        own = f"gotasks.{rel.stem}"
        for line, name in gotasks_imports(path):
            target = name.split(".")[1]
            if layer in MAY_IMPORT and target not in MAY_IMPORT[layer]:
                allowed = ", ".join(sorted(MAY_IMPORT[layer] - {layer})) or "nothing of gotasks"
                problems.append(f"{rel}:{line}: imports {name} ({layer} may import {allowed})")
            elif own in tasks and f"gotasks.{target}" in tasks and target != rel.stem:
                problems.append(
                    f"{rel}:{line}: imports {name} (a task module never imports another one:"
                    " move the shared code down)"
                )
    return problems


def _defines_tasks(path: Path) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "gotasks.engine"
        and any(alias.name == "task" for alias in node.names)
        for node in ast.walk(_parsed(path.read_text()))
    )


def test_the_layers_import_only_downwards() -> None:
    assert wrong_way_imports(SOURCE) == []


@pytest.mark.parametrize(
    ("module", "planted", "named"),
    [
        ("core/units.py", "from gotasks.engine import trace", "core may import nothing of gotasks"),
        ("engine/graph.py", "from gotasks.go import version", "engine may import core"),
        ("go/redact.py", "from gotasks.settings import Settings", "go may import core"),
        ("go/version.py", "import gotasks.engine.procs", "go may import core"),
        ("container/engine.py", "from gotasks import context", "container may import core, go"),
        ("clean.py", "from gotasks.build import build", "a task module never imports another"),
    ],
)
def test_the_layer_rule_fails_on_a_planted_wrong_way_import(
    tmp_path: Path, module: str, planted: str, named: str
) -> None:
    """The rule checks something: a copy of the package with one bad import (a lazy one,
    inside a function) fails, naming the file, the line and the import."""
    shutil.copytree(
        SOURCE / "gotasks", tmp_path / "gotasks", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "gotasks" / module
    lines = target.read_text().splitlines()
    lines.append(f"\n\ndef _planted() -> None:\n    {planted}\n")
    target.write_text("\n".join(lines))
    line = len(lines) + 3  # the def, two blank lines before it, the import under it
    problems = wrong_way_imports(tmp_path)
    imported = planted.split()[1]  # the module named after from or import
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"gotasks/{module}:{line}: imports {imported}")
    assert named in problems[0]


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
    "shard.plan",
    "shard.merge",
    "history.export",
    "history.import",
)


def run(*args: str, cwd: Path = SOURCE, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, env=clean_env(**env), capture_output=True, text=True, check=False
    )


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_mypy_strict_is_clean() -> None:
    if shutil.which("mypy") is None:
        pytest.fail("mypy is not installed: pip install -e '.[dev]'")
    out = run("mypy")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.e2e
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


@pytest.mark.e2e
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
