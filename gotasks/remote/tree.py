"""The client's tree as a worker gets it: the commit (fetched by the worker from the
repository's configured remote, else in a git bundle the client sends), the uncommitted
changes (a binary diff against it) and the untracked files (a tar); the worker rebuilds it
in a cache clone of its own and checks a digest of the files against the client's before
anything runs there."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.errors import TaskFailed
from gotasks.core.files import locked
from gotasks.go.git import git

READY = ".gotasks-tree-ready"  # written last in a checkout: the tree in it is whole
FETCH_SECONDS = 300.0


@dataclass(frozen=True)
class TreeState:
    repository: str  # the repository's first commit: names its cache clone on a worker
    commit: str
    bundle: bytes | None  # the commit's history, when some worker lacks it
    remote: str | None  # the URL of the configured remote the workers fetch from, if any
    diff: bytes  # `git diff --binary HEAD`: staged and unstaged changes alike
    untracked: bytes  # a tar of the untracked files git does not ignore
    digest: str  # of every file of the tree (tree_digest)

    @property
    def name(self) -> str:
        """The checkout of exactly this tree on a worker."""
        return self.digest[:20]


def _listed(top: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files, as git names them."""
    return sorted(set(_files(top, "--cached", "--others")))


def _untracked(top: Path) -> list[str]:
    return sorted(set(_files(top, "--others")))


def _files(top: Path, *which: str) -> list[str]:
    """`git ls-files` of `which`; an untracked repository inside (git names it `dir/` and
    nothing in it) by its own files, as they are sent: on a worker, with no repository of
    its own there, git lists them one by one, and both digests must name the same files."""
    out = git(top, "ls-files", "-z", *which, "--exclude-standard")
    found = []
    for name in (os.fsdecode(n) for n in out.split(b"\0") if n):
        if name.endswith("/") and (top / name / ".git").exists():
            found += [name + inner for inner in _files(top / name, "--cached", "--others")]
        else:
            found.append(name)
    return found


def tree_digest(top: Path) -> str:
    """Names, kinds, executable bits and contents of the tree's files (what a task could
    read), the same on the client and on the worker for the same tree."""
    digest = hashlib.sha256()
    for name in _listed(top):
        path = top / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # deleted, not yet staged: not part of the tree
        digest.update(os.fsencode(name) + b"\0")
        if stat.S_ISLNK(info.st_mode):
            digest.update(b"l" + os.fsencode(os.readlink(path)))
        elif stat.S_ISREG(info.st_mode):
            digest.update(b"x" if info.st_mode & 0o111 else b"f")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\0")
    return digest.hexdigest()


def capture(top: Path, with_bundle: bool) -> TreeState:
    commit = git(top, "rev-parse", "HEAD").decode().strip()
    roots = git(top, "rev-list", "--max-parents=0", "HEAD").decode().split()
    bundle = bundle_of(top) if with_bundle else None
    diff = git(top, "diff", "--binary", "HEAD")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in _untracked(top):
            tar.add(top / name, arcname=name, recursive=False)
    return TreeState(
        repository=sorted(roots)[0],
        commit=commit,
        bundle=bundle,
        remote=remote_url(top),
        diff=diff,
        untracked=buffer.getvalue(),
        digest=tree_digest(top),
    )


def remote_url(top: Path) -> str | None:
    """The URL of the remote the current branch tracks, else of `origin`; a local path as an
    absolute one (a worker has another working folder). None: no remote configured."""
    try:
        upstream = git(top, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
        name = upstream.decode().strip().split("/", 1)[0]
    except TaskFailed:
        name = "origin"
    try:
        url = git(top, "config", "--get", f"remote.{name}.url").decode().strip()
    except TaskFailed:
        return None
    if url and "://" not in url and (top / url).exists():
        return str((top / url).resolve())
    return url or None


def bundle_of(top: Path) -> bytes:
    """HEAD's history as a `git bundle`, for a worker whose cache clone lacks the commit."""
    with tempfile.TemporaryDirectory(prefix="gotasks-bundle-") as scratch:
        path = Path(scratch) / "tree.bundle"
        git(top, "bundle", "create", "-q", str(path), "HEAD")
        return path.read_bytes()


def has_commit(base: Path, repository: str, commit: str) -> bool:
    store = base / repository / "repo.git"
    if not store.is_dir():
        return False
    try:
        git(store, "cat-file", "-e", f"{commit}^{{commit}}")
    except TaskFailed:
        return False
    return True


def _store(folder: Path) -> Path:
    """The repository's cache clone on this worker (bare: checkouts share its objects)."""
    store = folder / "repo.git"
    if not store.is_dir():
        store.mkdir(parents=True)
        git(store, "init", "-q", "--bare")
    return store


def fetch_commit(base: Path, repository: str, commit: str, url: str | None) -> bool:
    """Whether this worker has the commit, after fetching it from `url` if it lacked it:
    the commit alone, else every branch (a server that refuses a commit not at a ref's tip
    still serves its branches). False when it cannot (no remote, unreachable, not pushed):
    the client sends a bundle then. Never asks for credentials: a worker has no terminal."""
    if has_commit(base, repository, commit):
        return True
    if not url:
        return False
    folder = base / repository
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / ".lock"):
        store = _store(folder)
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
        for refspec in (f"{commit}:refs/gotasks/{commit}", "+refs/heads/*:refs/gotasks/heads/*"):
            argv = ["git", "-C", str(store), "fetch", "-q", "--no-tags", url, refspec]
            try:
                subprocess.run(
                    argv, env=env, capture_output=True, check=False, timeout=FETCH_SECONDS
                )
            except (OSError, subprocess.TimeoutExpired):
                return False
            if has_commit(base, repository, commit):
                return True
    return False


def with_commit(state: TreeState, base: Path, worker: str) -> Path:
    """The repository's cache clone, with the state's commit (from its bundle if it came
    with one); called under the repository's lock."""
    folder = base / state.repository
    store = _store(folder)
    if not has_commit(base, state.repository, state.commit):
        if state.bundle is None:
            raise TaskFailed(f"worker {worker}: does not have commit {state.commit[:12]}")
        bundle = folder / f"{state.commit}.bundle"
        bundle.write_bytes(state.bundle)
        try:
            git(store, "fetch", "-q", str(bundle), f"HEAD:refs/gotasks/{state.commit}")
        finally:
            bundle.unlink()
    return store


def apply_changes(top: Path, state: TreeState, worker: str) -> None:
    """The client's changes (its diff, its untracked files) on a checkout of its commit at
    `top`, then the whole tree checked against the client's digest."""
    if state.diff:
        git(top, "apply", "--binary", "--whitespace=nowarn", stdin=state.diff)
    with tarfile.open(fileobj=io.BytesIO(state.untracked)) as tar:
        tar.extractall(top, filter="data")
    found = tree_digest(top)
    if found != state.digest:
        raise TaskFailed(
            f"worker {worker}: its copy of the tree differs from the client's"
            f" (digest {found[:12]}, expected {state.digest[:12]})"
        )


def materialize(state: TreeState, base: Path, worker: str) -> Path:
    """The tree `state` describes, checked out under `base` (made once per tree; runs of
    the same tree share it)."""
    folder = base / state.repository
    checkout = folder / state.name
    if (checkout / READY).exists():
        return checkout
    if state.bundle is None:  # a worker that joined after the client asked them all
        fetch_commit(base, state.repository, state.commit, state.remote)
    with locked(folder / ".lock"):
        if (checkout / READY).exists():
            return checkout
        store = with_commit(state, base, worker)
        scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=folder))
        try:
            git(folder, "clone", "-q", "--shared", "--no-checkout", str(store), str(scratch))
            git(scratch, "checkout", "-q", "--detach", state.commit)
            apply_changes(scratch, state, worker)
            (scratch / ".git" / "info").mkdir(exist_ok=True)
            (scratch / READY).write_text(state.commit + "\n")
            # The marker is ours, not the project's: git status must not show it.
            with (scratch / ".git" / "info" / "exclude").open("a") as exclude:
                exclude.write(f"/{READY}\n")
            scratch.rename(checkout)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    return checkout
