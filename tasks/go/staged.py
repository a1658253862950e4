"""What a commit would record: git's staged Go files, their content, and where gofmt differs."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tasks.go.modules import Module

# The folders tasks.go.sources.go_files skips: gofmt and vet never look there in lint either.
_SKIP_DIRS = {"vendor", "testdata", "node_modules"}
GO_MOD_FILES = ("go.mod", "go.sum")
# Far below the kernel's limit on one command line, even for long paths.
_BATCH = 500
# git's words for "no work tree here" (anything else, such as a dubious-ownership refusal,
# is an error of its own and shown as git says it).
_NO_REPOSITORY = ("not a git repository", "must be run in a work tree")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


class GitError(Exception):
    """git could not answer: not installed, or it refused (its own last line says why)."""


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """`git -C cwd ARGS`: its stdout, raw (paths are bytes to git)."""
    # --literal-pathspecs: a file named `*.go` is that file, not a glob.
    argv = ["git", "--literal-pathspecs", "-C", str(cwd), *args]
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git: not found on PATH") from None
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(lines[-1] if lines else f"git {args[0]}: exit {result.returncode}")
    return result.stdout


def toplevel(path: Path) -> Path | None:
    """The top folder of the git work tree holding `path`; None outside any."""
    try:
        out = git(path, "rev-parse", "--show-toplevel")
    except GitError as error:
        if any(words in str(error) for words in _NO_REPOSITORY):
            return None
        raise
    return Path(os.fsdecode(out.rstrip(b"\n"))).resolve()


def git_path(cwd: Path, name: str) -> Path:
    """`git rev-parse --git-path NAME` as an absolute path: hooks/pre-commit honours
    core.hooksPath, and a linked worktree shares the main one's hooks."""
    out = os.fsdecode(git(cwd, "rev-parse", "--git-path", name).rstrip(b"\n"))
    # git answers relative to the folder it ran in (-C), or absolute.
    return Path(os.path.normpath(cwd / out))


def _paths(out: bytes) -> list[str]:
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def staged_paths(top: Path) -> list[str]:
    """Files the next commit adds, copies, modifies or renames (not deletions), relative to
    the top level; a relative GIT_INDEX_FILE (a hook's) is read from the top level too."""
    return _paths(git(top, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"))


def unstaged(top: Path, paths: list[str]) -> set[str]:
    """Those of `paths` (top-relative) whose working-tree copy differs from the staged one."""
    found: set[str] = set()
    for start in range(0, len(paths), _BATCH):
        batch = paths[start : start + _BATCH]
        found.update(_paths(git(top, "diff", "--name-only", "-z", "--", *batch)))
    return found


def checkout_staged(top: Path, paths: list[str], dest: Path) -> None:
    """Write the staged content of `paths` (top-relative) under `dest`, same relative paths;
    the work tree is not touched."""
    listing = b"".join(os.fsencode(p) + b"\0" for p in paths)
    git(top, "checkout-index", f"--prefix={dest}{os.sep}", "-z", "--stdin", stdin=listing)


@dataclass
class ModuleChanges:
    """The staged files of one module that lint looks at."""

    module: Module
    go_files: list[str] = field(default_factory=list)  # relative to the git top level
    mod_files: list[str] = field(default_factory=list)  # its go.mod / go.sum, if staged
    packages: list[str] = field(default_factory=list)  # for go vet: "./greet", "."


def by_module(paths: Iterable[str], top: Path, modules: list[Module]) -> dict[str, ModuleChanges]:
    """The staged files (top-relative) lint would check, by module (its rel).

    A file belongs to the innermost module holding it; files outside every module, in
    vendor/, testdata/, hidden or `_` folders, or in a nested module lint does not check
    (not in the module list) are left out, as `inv lint` leaves them.
    """
    changes: dict[str, ModuleChanges] = {}
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".go") and name not in GO_MOD_FILES:
            continue
        full = top / path
        owners = [m for m in modules if full.is_relative_to(m.dir)]
        if not owners:
            continue
        module = max(owners, key=lambda m: len(m.dir.parts))
        rel = full.relative_to(module.dir)
        entry = changes.get(module.rel) or ModuleChanges(module)
        if name in GO_MOD_FILES:
            if len(rel.parts) != 1:
                continue  # a nested module's go.mod that is not in the module list
            entry.mod_files.append(path)
        elif _checked(module.dir, rel):
            entry.go_files.append(path)
            folder = rel.parent.as_posix()
            package = "." if folder == "." else f"./{folder}"
            if package not in entry.packages:
                entry.packages.append(package)
        else:
            continue
        changes[module.rel] = entry
    for entry in changes.values():
        entry.packages.sort()
    return changes


def _checked(module_dir: Path, rel: Path) -> bool:
    """Whether `inv lint` checks this .go file of the module (see go_files)."""
    *folders, name = rel.parts
    if name.startswith((".", "_")):
        return False
    here = module_dir
    for folder in folders:
        if folder in _SKIP_DIRS or folder.startswith((".", "_")):
            return False
        here = here / folder
        if (here / "go.mod").exists():
            return False
    return True


def first_changed_lines(listing: str, names: Iterable[str]) -> dict[str, int]:
    """From `gofmt -l -d NAMES` output: each file gofmt would change, and the first line
    (of the file as it is) that changes."""
    wanted = set(names)
    found: dict[str, int] = {}
    current: str | None = None
    old: int | None = None  # within a hunk of the current file: the next line's number
    for line in listing.splitlines():
        if line in wanted:  # -l names the file just before its diff
            current, old = line, None
            found[current] = 0
            continue
        if current is None or found[current]:
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old = int(hunk.group(1))
        elif old is not None:
            if line.startswith(("-", "+")):
                found[current] = max(old, 1)
            else:
                old += 1  # a context line (" text", or "" for an empty one)
    # A change no hunk showed (it cannot happen with gofmt's diff): the file, from line 1.
    return {name: line or 1 for name, line in found.items()}
