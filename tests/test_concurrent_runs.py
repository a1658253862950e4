"""Two `inv build` runs of one project at the same time (two terminals, an editor's task
and a shell): both succeed, and dist/ is one build's whole output, its SHA256SUMS true."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, clean_env, require_go

pytestmark = pytest.mark.e2e


def checksums_hold(dist: Path) -> list[str]:
    """The names SHA256SUMS lists; fails when a file is missing or differs."""
    names = []
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        name = name.lstrip("*")
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name
        names.append(name)
    return names


def test_two_builds_at_once_both_succeed_and_dist_is_whole(
    make_project: Callable[..., Project],
) -> None:
    require_go()
    project = make_project()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoke", "build"],
            cwd=project.root,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "Traceback" not in output
    dist = project.root / "dist"
    listed = checksums_hold(dist)
    binaries = sorted(
        str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file() and p.name != "SHA256SUMS"
    )
    assert sorted(listed) == binaries and binaries
    assert not [p.name for p in dist.iterdir() if p.name.startswith(".")]
