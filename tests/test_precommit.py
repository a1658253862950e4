"""precommit: the .pre-commit-config.yaml `inv init` writes and this repository's
.pre-commit-hooks.yaml, checked with pre-commit's own schema and its way of splitting and
matching (the framework really running the hook: tests/test_install.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pre_commit.clientlib import load_config, load_manifest

from gotasks.precommit import FILES, HOOK_ID, config_text, entry, files_pattern, hooks_text

SOURCE = Path(__file__).resolve().parents[1]
GO_FILES = ["main.go", "a/b.go", "go.mod", "a/go.sum", "go.work", "go.work.sum", "a/go.work"]
NOT_GO = ["README.md", "go.mod.orig", "notgo.mod", "cargo.work", "go.works", "a.go/x.txt"]


def hook_of(text: str) -> dict[str, Any]:
    config = yaml.safe_load(text)
    (repo,) = config["repos"]
    (hook,) = repo["hooks"]
    assert repo["repo"] == "local"
    return dict(hook)


@pytest.mark.parametrize(
    "requirement",
    [
        "/work/main",
        "/src/my tools/gotasks",
        "gotasks @ git+https://git.example/team/gotasks.git@0123abc",
        "gotasks @ file:///tmp/w/gotasks-0.2.0-py3-none-any.whl",
        'gotasks==1.0 ; python_version >= "3.11"',
        "it's: a #weird [value]",
    ],
)
def test_the_config_is_a_local_python_hook_with_gotasks_as_its_dependency(
    requirement: str, tmp_path: Path
) -> None:
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(config_text(requirement))
    load_config(str(path))  # pre-commit's own schema: raises on anything it would refuse
    hook = hook_of(path.read_text())
    assert hook["id"] == HOOK_ID
    assert hook["language"] == "python"
    assert hook["additional_dependencies"] == [requirement]
    assert hook["pass_filenames"] is False
    assert shlex.split(hook["entry"]) == ["gotasks", "lint", "--staged"]


def test_the_hook_runs_on_go_files_only() -> None:
    pattern = re.compile(hook_of(config_text("/x"))["files"])
    assert pattern.pattern == FILES
    for path in GO_FILES:
        assert pattern.search(path), path
    for path in NOT_GO:
        assert not pattern.search(path), path


@pytest.mark.parametrize("project", ["svc", "services/api v2", "a.b"])
def test_a_project_in_a_subfolder_is_searched_for_and_only_its_files_count(
    project: str, tmp_path: Path
) -> None:
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(config_text("/x", project))
    load_config(str(path))
    hook = hook_of(path.read_text())
    assert shlex.split(hook["entry"]) == ["gotasks", "--search-root", project, "lint", "--staged"]
    assert hook["entry"] == entry(project)
    pattern = re.compile(hook["files"])
    assert pattern.pattern == files_pattern(project)
    for name in GO_FILES:
        assert pattern.search(f"{project}/{name}"), name
        assert not pattern.search(name), name  # at the top: not this project's
        assert not pattern.search(f"other/{name}"), name
    for name in NOT_GO:
        assert not pattern.search(f"{project}/{name}"), name
    assert not pattern.search(f"{project}x/main.go")


def test_the_hooks_file_at_the_root_is_the_one_gotasks_offers(tmp_path: Path) -> None:
    shipped = SOURCE / ".pre-commit-hooks.yaml"
    assert shipped.read_text() == hooks_text(), "regenerate it from gotasks.precommit"
    (hook,) = load_manifest(str(shipped))
    assert hook["id"] == HOOK_ID
    assert hook["language"] == "python"
    assert shlex.split(hook["entry"]) == ["gotasks", "lint", "--staged"]
    assert hook["files"] == FILES
    assert hook["pass_filenames"] is False
