"""The folder a worker runs a tree state's tasks in: one that keeps its path from one tree
state to the next, so that go's build cache, which keys a build by the package's folder,
still holds what an earlier commit built there (a folder per tree state compiled every
package again on each new commit, where a local run compiles only what changed).

Each repository has one such folder on a worker (`<repository>/work`). A task takes it for
its tree state and holds it, shared with the other tasks of that state, until it ends; a
task of another state switches it (git checkout of the commit, the uncommitted changes and
the untracked files on top, ignored files such as build outputs kept, the digest checked as
for any checkout) when no task holds it, and else runs in that state's own folder
(tree.materialize), as before."""

from __future__ import annotations

import contextlib
import fcntl
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from gotasks.core.files import locked
from gotasks.go.git import git
from gotasks.remote.tree import (
    READY,
    TreeState,
    apply_changes,
    fetch_commit,
    materialize,
    with_commit,
)

WORK = "work"
IN_USE = ".gotasks-tree-in-use"  # shared-locked by each task running in the folder


def checkout_for(state: TreeState, base: Path, worker: str) -> tuple[Path, Callable[[], None]]:
    """The folder to run a task of `state` in, and what to call when the task ended."""
    folder = base / state.repository
    work = folder / WORK
    if state.bundle is None:  # as materialize: a worker that joined after the client asked
        fetch_commit(base, state.repository, state.commit, state.remote)
    with locked(folder / ".lock"):
        with_commit(state, base, worker)
        handle = _hold(work, state, worker)
    if handle is not None:
        return work, handle.close
    return materialize(state, base, worker), lambda: None


def _hold(work: Path, state: TreeState, worker: str) -> io.TextIOWrapper | None:
    """The work folder, switched to `state` if need be, held shared; None if tasks of
    another state hold it. Called under the repository's lock."""
    if not work.exists():  # made whole, then put in place: a crash leaves no half clone
        scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=work.parent))
        try:
            git(work.parent, "clone", "-q", "--shared", "--no-checkout", "repo.git", str(scratch))
            scratch.rename(work)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    handle = (work / ".git" / IN_USE).open("a")
    try:
        if _holds(work) == state.digest:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            return handle
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        _switch(work, state, worker)
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # no one switches it: we hold the lock
        return handle
    except BaseException:
        handle.close()
        raise


def _holds(work: Path) -> str | None:
    with contextlib.suppress(OSError):
        return (work / READY).read_text().split()[1]
    return None


def _switch(work: Path, state: TreeState, worker: str) -> None:
    (work / READY).unlink(missing_ok=True)  # not whole until the digest says so
    # Tracked files as the commit has them, untracked ones (not ignored: builds, caches)
    # gone, then the client's changes on top.
    git(work, "checkout", "-q", "--force", "--detach", state.commit)
    git(work, "clean", "-q", "-d", "--force")
    apply_changes(work, state, worker)
    exclude = work / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    if f"/{READY}\n" not in (exclude.read_text() if exclude.exists() else ""):
        with exclude.open("a") as out:
            out.write(f"/{READY}\n")
    (work / READY).write_text(f"{state.commit} {state.digest}\n")
