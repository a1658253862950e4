"""git asked from Python: one command's output as bytes, its refusals as one line
(GitError), and the work tree and repository folders of a path."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from gotasks.core.errors import TaskFailed

# git's words for "no work tree here" (anything else is an error of its own).
_NO_REPOSITORY = ("not a git repository", "must be run in a work tree")
# git's refusal of a repository another user owns: three lines, the useful one last but
# without the why.
_DUBIOUS = re.compile(r"detected dubious ownership in repository at '(?P<path>[^\n]*)'")
_SAFE_DIRECTORY = re.compile(r"git config --global --add safe\.directory (?P<path>[^\n]+)")


class GitError(TaskFailed):
    """git could not answer: not installed, or it refused (one line says why)."""


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """`git -C cwd ARGS`: its stdout, raw (paths are bytes to git)."""
    # --literal-pathspecs: a file named `*.go` is that file, not a glob.
    argv = ["git", "--literal-pathspecs", "-C", str(cwd), *args]
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git: not found on PATH") from None
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")
        lines = stderr.strip().splitlines()
        why = _refusal(stderr) or (lines[-1] if lines else None)
        raise GitError(why or f"git {args[0]}: exit {result.returncode}")
    return result.stdout


def _refusal(stderr: str) -> str | None:
    """git's dubious-ownership refusal as one line that says why and what to do."""
    dubious = _DUBIOUS.search(stderr)
    if dubious is None:
        return None
    path = dubious.group("path")
    # git's hint has the path safe.directory wants, quoted for the shell already.
    hint = _SAFE_DIRECTORY.search(stderr)
    trusted = hint.group("path").strip() if hint else shlex.quote(path)
    return (
        f"git refuses {path}: dubious ownership (owned by another user); if you trust it:"
        f" git config --global --add safe.directory {trusted}"
    )


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


def git_common_dir(cwd: Path) -> Path:
    """The repository's own folder: .git (for a linked worktree, the main one's)."""
    out = os.fsdecode(git(cwd, "rev-parse", "--git-common-dir").rstrip(b"\n"))
    return Path(os.path.normpath(cwd / out))
