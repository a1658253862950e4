"""A worker's work folder (gotasks/remote/workfolder.py): one folder per repository that goes
from one tree state to the next (go's build cache keys builds by folder), held by the tasks
of one state at a time; a task of another state runs in that state's own folder meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cluster import _repo

from gotasks.core.errors import TaskFailed
from gotasks.remote.tree import TreeState, capture, tree_digest
from gotasks.remote.workfolder import WORK, checkout_for

GREET = "hello/greet/greet.go"


def test_one_folder_goes_from_one_tree_state_to_the_next(tmp_path: Path) -> None:
    project = _repo(tmp_path / "client")
    root, base = project.root, tmp_path / "worker"
    project.write("hello/scratch.txt", "untracked, first state only\n")
    first = capture(root, with_bundle=True)
    folder, release = checkout_for(first, base, "w1")
    assert folder == base / first.repository / WORK
    assert tree_digest(folder) == first.digest
    (folder / "dist").mkdir()
    (folder / "dist/built").write_text("a build output (ignored): kept\n")
    release()
    # The next state: a change in the dirty tree, the untracked file gone.
    (root / "hello/scratch.txt").unlink()
    (root / GREET).write_text("package greet\n// the second state\n")
    second = capture(root, with_bundle=False)  # the commit is there: no bundle needed
    again, release = checkout_for(second, base, "w1")
    assert again == folder
    assert tree_digest(folder) == second.digest != first.digest
    assert (folder / GREET).read_text().endswith("the second state\n")
    assert not (folder / "hello/scratch.txt").exists()
    assert (folder / "dist/built").exists()
    release()


def test_a_held_folder_is_not_switched_and_another_state_runs_beside_it(tmp_path: Path) -> None:
    project = _repo(tmp_path / "client")
    root, base = project.root, tmp_path / "worker"
    first = capture(root, with_bundle=True)
    folder, release_first = checkout_for(first, base, "w1")
    same, release_same = checkout_for(first, base, "w1")  # another task of the same state
    assert same == folder
    (root / GREET).write_text("package greet\n// the second state\n")
    second = capture(root, with_bundle=False)
    beside, release_beside = checkout_for(second, base, "w1")
    assert beside != folder and beside.name == second.name
    assert tree_digest(folder) == first.digest  # untouched while its tasks run
    assert tree_digest(beside) == second.digest
    release_beside()
    release_first()
    # One task of the first state still holds it.
    assert checkout_for(second, base, "w1")[0] == beside
    release_same()
    switched, release = checkout_for(second, base, "w1")
    assert switched == folder and tree_digest(folder) == second.digest
    release()


def test_a_switch_to_a_tree_that_differs_is_refused_and_the_next_one_is_whole(
    tmp_path: Path,
) -> None:
    project = _repo(tmp_path / "client")
    root, base = project.root, tmp_path / "worker"
    first = capture(root, with_bundle=True)
    _, release = checkout_for(first, base, "w1")
    release()
    (root / GREET).write_text("package greet\n// the second state\n")
    second = capture(root, with_bundle=False)
    forged = TreeState(**{**second.__dict__, "diff": first.diff})  # not what its digest says
    with pytest.raises(TaskFailed, match=r"worker w1: its copy of the tree differs"):
        checkout_for(forged, base, "w1")
    folder, release = checkout_for(second, base, "w1")
    assert tree_digest(folder) == second.digest
    release()
