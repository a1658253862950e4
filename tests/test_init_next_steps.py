"""init's next steps, run literally, in order, in a shell that has no virtualenv and no
gotasks on its path: the fresh machine they are written for (pip reaches PyPI for
setuptools and pre-commit)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLE, Project, clean_env, require_go

pytestmark = pytest.mark.e2e


def test_the_next_steps_work_as_printed(tmp_path: Path) -> None:
    require_go()
    repo = Project(tmp_path / "hello")
    shutil.copytree(EXAMPLE, repo.root)
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("the example, before gotasks")
    out = subprocess.run(
        [sys.executable, "-m", "gotasks.adopt", str(repo.root)],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    steps = [s.strip() for s in out.stdout.split("next steps", 1)[1].splitlines()[1:]]
    assert steps[0] == f"cd {repo.root}" and steps[-1] == "inv ci", steps
    assert not [s for s in steps if s.startswith("edit ")], steps  # the example needs none
    names = [s.split("#", 1)[0].split()[:4] for s in steps]
    assert names[1][:3] == ["python3", "-m", "venv"] and names[4][:2] == ["pre-commit", "install"]

    # A machine with python3, go and git on PATH, and nothing else of ours: no PYTHONPATH, no
    # virtualenv's bin/, no gotasks or invoke to import.
    env = clean_env()
    env.pop("PYTHONPATH")
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        str(Path(shutil.which(tool) or "/usr/bin").parent) for tool in ("go", "git", "python3")
    )
    script = "set -e\n" + "\n".join(s.split("#", 1)[0] for s in steps) + "\n"
    run = subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert re.search(r"(?m)^\s+ci\s+ok\b", run.stdout), run.stdout[-4000:]
    assert (repo.root / "dist" / "SHA256SUMS").is_file()
    assert (repo.root / ".git" / "hooks" / "pre-commit").is_file()
    # gotasks ran from the virtualenv the steps made, not from this checkout.
    venv_site = list((repo.root / ".venv").glob("lib/python3*/site-packages/gotasks"))
    assert venv_site, "gotasks was not installed into .venv"
