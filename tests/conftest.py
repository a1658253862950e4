"""Fixtures: throwaway gotasks projects (adopted into a temp dir) run through the real `inv`."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gotasks import adopt as adoption

SOURCE = Path(__file__).resolve().parents[1]
EXAMPLE = SOURCE / "examples" / "hello"


# Runs of gotasks on one machine share its CPUs and memory through lease files; the tests'
# runs share only among themselves, not with whatever else runs on this machine (another
# checkout's test suite, a developer's `inv ci`), so that what they measure is their own.
LEASE_DIR = tempfile.mkdtemp(prefix="gotasks-test-leases-")
atexit.register(shutil.rmtree, LEASE_DIR, True)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would pick an env or a root for us."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GOTASKS_") and k not in ("CI", "GITHUB_ACTIONS")
    }
    # GOENV=off: the machine's `go env -w` file must not leak into what tests expect.
    env.update({"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1", "GOENV": "off"})
    env["GOTASKS_LEASE_DIR"] = LEASE_DIR
    # The gotasks of this checkout, whichever one the active Python has installed: a second
    # worktree's tests must run its own code in the projects they spawn.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH", "")])]
    )
    env.update(extra)
    return env


@dataclass
class Project:
    root: Path

    def inv(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=cwd or self.root,
            env=clean_env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=clean_env(
                GIT_AUTHOR_NAME="T",
                GIT_AUTHOR_EMAIL="t@example.com",
                GIT_COMMITTER_NAME="T",
                GIT_COMMITTER_EMAIL="t@example.com",
                **(env or {}),
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def commit_all(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tree_snapshot(self) -> dict[str, bytes]:
        """Every file under the root except .git and gotasks' own run history (.gotasks/):
        to prove a failed run changed nothing of the user's."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
            and not {".git", ".gotasks"} & set(p.relative_to(self.root).parts)
            and "__pycache__" not in p.parts
        }


def adopt(root: Path) -> None:
    """Put gotasks into `root` as `inv init` does (its own plan and copy), without the
    optional files: the tests that want a Dockerfile or a pre-commit config add them, and
    some need to start without."""
    adoption.adopt(SOURCE, root, adoption.plan(SOURCE, root, optional=()))


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


def sums_check(dist: Path) -> None:
    """dist/SHA256SUMS matches every file it lists, as `sha256sum -c` checks it."""
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=dist,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def require_go() -> None:
    if shutil.which("go") is None:
        pytest.fail("go is not on PATH: gotasks' tests run the real go")
