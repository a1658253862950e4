"""The README as a new user follows it: set-up first, the test commands, the example's output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SOURCE, clean_env

README = (SOURCE / "README.md").read_text(encoding="utf-8")


def test_the_readme_starts_by_creating_a_virtualenv_and_says_how_to_run_the_tests() -> None:
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    first_line = first_block.splitlines()[0]
    assert first_line.startswith("python3 -m venv .venv && . .venv/bin/activate")
    assert 'python3 -m pytest -m "not e2e"' in first_block
    intro = README.split("## Tasks", 1)[0]
    assert re.search(r"whole suite takes (about )?\d+ minutes", intro)
    assert re.search(r'`-m "not e2e"` leaves out .* took \d+ (seconds|minutes)', intro, re.DOTALL)


def readme_version_block() -> dict[str, str]:
    block = README.split("$ dist/hello_linux_amd64/hello version\n", 1)[1].split("```", 1)[0]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


@pytest.mark.e2e
def test_the_hello_version_example_is_what_a_fresh_clone_prints(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(SOURCE), str(clone)], check=True, env=clean_env())
    built = subprocess.run(
        [sys.executable, "-m", "invoke", "build"],
        cwd=clone,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    out = subprocess.run(
        [str(clone / "dist" / "hello_linux_amd64" / "hello"), "version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    printed = dict(line.split(": ", 1) for line in out.strip().splitlines())
    shown = readme_version_block()
    assert list(printed) == list(shown)  # the same lines, in the same order
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    tagged = subprocess.run(
        ["git", "tag"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    # No tags in a clone of this repository: describe gives the abbreviated commit, as shown.
    assert not tagged and printed["version"] == commit[:12]
    assert re.fullmatch(r"[0-9a-f]{12}", shown["version"])
    assert re.fullmatch(r"[0-9a-f]{40}", shown["commit"]) and printed["commit"] == commit
    for key in ("dirty", "go", "edition"):
        assert printed[key] == shown[key], key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown["commit date"])
