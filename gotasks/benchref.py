"""`inv bench --against REF`: REF and the work tree measured side by side, interleaved.

REF is checked out in a temporary `git worktree`, both sides' test binaries are built with
`go test -c` (same go, env, tags, flags), and the binaries run in turns, A B A B ..., one
`-test.count=1` round each: both sides see the same machine, so a difference is the code's,
not the load's. The worktree and binaries are removed afterwards, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import go, run_tool
from gotasks.core import console
from gotasks.core.cancel import check_stop
from gotasks.core.errors import TaskFailed, UsageError

if TYPE_CHECKING:
    from gotasks.go.modules import Module

# One line per package that has tests: its import path and folder (go list's template).
_TEST_PACKAGES = '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{"\\t"}}{{.Dir}}{{end}}'


@dataclass(frozen=True)
class Ref:
    """--against's REF, resolved before anything runs."""

    name: str  # as the user wrote it
    commit: str  # full hash
    top: Path  # the work tree's top folder


@dataclass(frozen=True)
class _Binary:
    package: str
    path: Path
    folder: Path  # the package's folder: go test runs a test binary there, and so do we


def resolve_ref(mod: Module, name: str) -> Ref:
    """REF as a commit of the module's repository; a usage error when it is none."""
    from gotasks.go.git import GitError, git, toplevel

    try:
        top = toplevel(mod.dir)
    except GitError as error:
        raise UsageError(f"--against {name}: {error}") from None
    if top is None:
        raise UsageError(f"--against {name}: {mod.dir} is not in a git repository")
    if name.startswith("-"):
        raise UsageError(f"--against {name!r}: not a commit, tag or branch")
    try:
        out = git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}")
    except GitError:
        raise UsageError(
            f"--against {name!r}: not a commit, tag or branch of {top} (nor a saved run's file)"
        ) from None
    return Ref(name, out.decode().strip(), top)


@contextlib.contextmanager
def checked_out(ref: Ref) -> Iterator[Path]:
    """A temporary folder holding REF in a detached `git worktree` (at `folder/tree`), and
    room beside it; removed, and git's record of the worktree with it, however the block
    ends."""
    folder = Path(tempfile.mkdtemp(prefix="gotasks-bench-"))
    tree = folder / "tree"
    try:
        _git_quietly(ref.top, "worktree", "add", "--detach", "--quiet", str(tree), ref.commit)
        yield folder
    finally:
        _git_quietly(ref.top, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)
        _git_quietly(ref.top, "worktree", "prune")


def _git_quietly(top: Path, *args: str) -> None:
    """git outside the task's process groups: after Ctrl-C the run kills every new command
    of a stopped task, and the cleanup must still happen. A failure to add is raised."""
    result = subprocess.run(
        ["git", "-C", str(top), *args],
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,
    )
    if result.returncode != 0 and args[1] == "add":
        lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        raise TaskFailed(f"git worktree add: {lines[-1]}")


def run_interleaved(
    c: Context,
    mod: Module,
    ref: Ref,
    packages: list[str],
    test_flags: list[str],
    rounds: int,
) -> tuple[str, str]:
    """The benchmark output of REF and of the work tree, `rounds` rounds each, run A B A B."""
    with checked_out(ref) as folder:
        ref_dir = folder / "tree" / mod.dir.resolve().relative_to(ref.top)
        if not (ref_dir / "go.mod").is_file():
            raise TaskFailed(f"bench {mod.label}: the module has no go.mod at {ref.name}")
        sides = {
            ref.name: _build(c, ref_dir, packages, folder / "ref", f"{mod.label} at {ref.name}"),
            "work tree": _build(c, mod.dir, packages, folder / "head", f"{mod.label}"),
        }
        outputs = {side: "" for side in sides}
        for number in range(1, rounds + 1):
            console.info(f"round {number}/{rounds}: {ref.name}, then the work tree")
            for side, binaries in sides.items():
                for binary in binaries:
                    check_stop()
                    outputs[side] += _run(c, binary, test_flags)
        check_stop()
        return outputs[ref.name], outputs["work tree"]


def _build(
    c: Context, module_dir: Path, packages: list[str], out: Path, what: str
) -> list[_Binary]:
    """One test binary per package with tests, built as `go test` would build it."""
    listed = go(c, ["list", "-f", _TEST_PACKAGES, *packages], module_dir)
    check_stop()
    if listed.exited != 0:
        console.info(listed.stderr.rstrip())
        raise TaskFailed(f"bench {what}: go list failed (exit {listed.exited})")
    out.mkdir()
    binaries = []
    for index, line in enumerate(listed.stdout.splitlines()):
        if not line.strip():
            continue
        package, _, folder = line.partition("\t")
        path = out / f"{index}.test"
        built = go(c, ["test", "-c", "-o", str(path), package], module_dir)
        check_stop()
        if built.exited != 0:
            console.info((built.stdout + built.stderr).rstrip())
            raise TaskFailed(f"bench {what}: go test -c {package} failed (exit {built.exited})")
        if path.exists():  # go writes nothing for a package whose tests are all excluded
            binaries.append(_Binary(package, path, Path(folder)))
    if not binaries:
        raise TaskFailed(f"bench {what}: no package with tests in {' '.join(packages)}")
    return binaries


def _run(c: Context, binary: _Binary, test_flags: list[str]) -> str:
    result = run_tool(c, [str(binary.path), *test_flags], binary.folder)
    if result.exited != 0:
        check_stop()  # killed by Ctrl-C: say that, not "failed"
        console.info((result.stdout + result.stderr).rstrip())
        raise TaskFailed(f"bench: {binary.package}'s benchmarks failed (exit {result.exited})")
    return result.stdout
