"""Version data for builds, read from git and the toolchain, never the clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gotasks.core.errors import TaskFailed, UsageError
from gotasks.go.git import GitError, git
from gotasks.go.goquote import go_quote

UNKNOWN = "unknown"
# Reading must not write: git status and describe --dirty refresh the index and so take
# .git/index.lock, which fails on a full disk or a read-only checkout. With
# --no-optional-locks git only reads; describe --dirty takes it regardless, so the dirty
# mark is ours.
_READ_ONLY = "--no-optional-locks"
# git's words for "no repository here" and "no commit yet": no stamps, not an error.
_NO_REPOSITORY = ("not a git repository", "must be run in a work tree")
_NO_COMMIT = ("does not have any commits yet", "bad default revision 'HEAD'")


@dataclass(frozen=True)
class VcsInfo:
    version: str  # git describe --tags --always --dirty
    commit: str
    commit_date: str  # the commit's date, RFC 3339 in UTC
    dirty: bool


def read_vcs(directory: Path) -> VcsInfo | None:
    """The repository holding `directory`, or None outside git or before the first commit.

    Three git commands, asked directly: every up-to-date check of a build needs these values
    (they are in its key), and gitpython's import alone cost more than all three. They run
    side by side (each only reads): a build waits for them before its first `go build`, and
    its up-to-date check asks again after it."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="git-stamps") as pool:
        # Untracked files count, as they do for Go's own vcs.modified stamp.
        status = pool.submit(git, directory, _READ_ONLY, "status", "--porcelain")
        described = pool.submit(
            git, directory, _READ_ONLY, "describe", "--tags", "--always", "--abbrev=12"
        )
        try:
            head = git(directory, _READ_ONLY, "log", "-1", "--format=%H %ct").decode().split()
        except GitError as error:
            said = str(error)
            if any(words in said for words in _NO_REPOSITORY + _NO_COMMIT):
                return None
            # git refuses a repository another user owns (go/git.py words it): a build
            # stamped "unknown" without a word would be worse than stopping.
            raise UsageError(said) from None
        commit, seconds = head[0], int(head[1])
        try:
            dirty = bool(status.result().strip())
            version = described.result().decode().strip() + ("-dirty" if dirty else "")
        except GitError as error:
            raise TaskFailed(f"{directory}: {error}") from None
    date = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return VcsInfo(version=version, commit=commit, commit_date=date, dirty=dirty)


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
