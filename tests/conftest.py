"""Fixtures: throwaway gotasks projects (adopted into a temp dir) run through the real `inv`.
The helpers tests import are in helpers.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import (
    EXAMPLE,
    SOURCE,
    Installed,
    Project,
    adopt,
    clean_env,
)


@pytest.fixture(scope="session", autouse=True)
def gotasks_registered() -> None:
    """The engine as gotasks configures it (what gotasks.namespace() does first): its
    GOTASKS_* variables and its --env, --go and --install, whichever test runs first."""
    from gotasks import context

    context.register()


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    """make_project(example=True, git=True): gotasks plus a Go module in a fresh git repo."""

    def make(example: bool = True, git: bool = True, name: str = "proj") -> Project:
        root = tmp_path / name
        root.mkdir()
        adopt(root)
        if example:
            shutil.copytree(EXAMPLE, root / "hello")
        project = Project(root)
        if git:
            project.git("init", "-q", "-b", "main")
            project.commit_all("initial")
        return project

    yield make


# Fixtures that spawn `inv`, build with the real go or drive a browser: a test using any of
# them is e2e (the quick loop, `pytest -m "not e2e"`, leaves it out). A test that spawns
# those itself marks itself with @pytest.mark.e2e.
E2E_FIXTURES = frozenset({"make_project", "go_output", "go_module", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Once per session: `pip wheel` of a copy of this checkout (pip would leave build/ and
    *.egg-info in the checkout itself), then a fresh venv that pip-installs the wheel; its
    dependencies come from the index or pip's cache, as on a user's machine."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "src"
    shutil.copytree(
        SOURCE,
        source,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "build", "*.egg-info", ".gotasks", "dist", ".venv"
        ),
    )
    wheels = base / "wheels"

    def step(*args: str | Path) -> None:
        env = clean_env()
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [str(a) for a in args], env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"

    step(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, source)
    (wheel,) = wheels.glob("gotasks-*.whl")
    venv = base / "venv"
    step(sys.executable, "-m", "venv", venv)
    step(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    return Installed(wheel, venv)
