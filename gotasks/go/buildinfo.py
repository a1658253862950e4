"""Version data for builds, read from git (gitpython) and the toolchain, never the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import git

from gotasks.core.errors import TaskFailed, UsageError
from gotasks.go.git import GitError, toplevel
from gotasks.go.goquote import go_quote

UNKNOWN = "unknown"
# Reading must not write: git status and describe --dirty refresh the index and so take
# .git/index.lock, which fails on a full disk or a read-only checkout. Without the optional
# lock git only reads; describe --dirty takes it regardless, so the dirty mark is ours.
_READ_ONLY = {"GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class VcsInfo:
    version: str  # git describe --tags --always --dirty
    commit: str
    commit_date: str  # the commit's date, RFC 3339 in UTC
    dirty: bool


def read_vcs(directory: Path) -> VcsInfo | None:
    """The repository holding `directory`, or None outside git or before the first commit."""
    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    with repo:
        try:
            head = repo.head.commit
        except (ValueError, OSError, git.GitCommandError) as error:
            # git refuses a repository another user owns; gitpython shows it as an empty SHA
            # or a broken pipe to its cat-file process, depending on timing. A build
            # stamped "unknown" without a word would be worse than stopping.
            _check_ownership(Path(repo.working_tree_dir or directory))
            if isinstance(error, ValueError):
                return None  # no commit yet
            raise
        top = repo.working_tree_dir or directory
        try:
            # Untracked files count, as they do for Go's own vcs.modified stamp.
            dirty = bool(repo.git.status("--porcelain", env=_READ_ONLY).strip())
            version = repo.git.describe("--tags", "--always", "--abbrev=12", env=_READ_ONLY)
        except git.GitCommandError as error:
            # gitpython's stderr reads "\n  stderr: '<what git said>'"
            said = str(error.stderr).partition("stderr: ")[2].strip().strip("'").strip()
            last = said.splitlines()[-1] if said else f"exit {error.status}"
            raise TaskFailed(f"{top}: git {error.command[1]} failed: {last}") from None
        if dirty:
            version += "-dirty"
        date = head.committed_datetime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return VcsInfo(version=version, commit=head.hexsha, commit_date=date, dirty=dirty)


def _check_ownership(top: Path) -> None:
    """git's own refusal (dubious ownership), as go/git.py words it, stops the build."""
    try:
        toplevel(top)
    except GitError as error:
        raise UsageError(str(error)) from None


def version_ldflags(
    vcs: VcsInfo | None, go_version: str, variables: dict[str, str], extra: list[str]
) -> str:
    """-s -w and one -X per version variable; `variables` maps our names to Go symbols."""
    values = {
        "version": vcs.version if vcs else UNKNOWN,
        "commit": vcs.commit if vcs else UNKNOWN,
        "commit_date": vcs.commit_date if vcs else UNKNOWN,
        "dirty": ("true" if vcs.dirty else "false") if vcs else UNKNOWN,
        "go_version": go_version,
    }
    words = ["-s", "-w"]
    for name, symbol in variables.items():
        if not symbol:
            continue
        words.append("-X")
        source = "the Go version" if name == "go_version" else f"the {name} git reports"
        words.append(go_quote(f"{symbol}={values[name]}", f"-X {symbol}: {source}"))
    # build.ldflags was checked with its file:line when the config was read (settings.py).
    words.extend(go_quote(flag, "build.ldflags") for flag in extra)
    return " ".join(words)
