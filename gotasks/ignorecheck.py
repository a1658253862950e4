"""Which files git's ignore rules hide, and by which rule (`git check-ignore -v`): a
config/test.yaml that `test*.yaml` hides is never committed, and a teammate's clone then
lacks the env. Used by `inv init` (what it writes) and `inv doctor` (the env files)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gotasks.core.errors import Failure


@dataclass(frozen=True)
class Hidden:
    path: str  # relative to the folder git ran in, /-separated
    source: str  # the ignore file (relative, as git names it)
    line: int
    pattern: str

    def text(self) -> str:
        return f"{self.source}:{self.line}: {self.pattern} hides {self.path}"


def hidden(root: Path, paths: list[str], tracked_too: bool = False) -> list[Hidden]:
    """The paths (relative to root) git would not see, each with the rule that hides it.
    Tracked files are not subject to ignore rules unless `tracked_too`. Outside a git
    work tree, or with no paths: none."""
    if not paths:
        return []
    args = ["git", "check-ignore", "-v", "-n", "-z", "--stdin"]
    if tracked_too:
        args.append("--no-index")
    try:
        out = subprocess.run(
            args,
            cwd=root,
            input="".join(p + "\0" for p in paths).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Failure(f"git check-ignore: {error}") from None
    if out.returncode not in (0, 1):
        return []  # not a work tree (or git refuses it: doctor's git check says why)
    fields = out.stdout.decode("utf-8", "replace").split("\0")
    found = []
    for index in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[index : index + 4]
        if source and not pattern.startswith("!"):
            found.append(Hidden(path, source, int(line), pattern))
    return found


def fix_lines(hidden_files: list[Hidden]) -> list[str]:
    """The `!` lines that bring the hidden files back, narrowest first: an env file gets
    `!/config/*.yaml` (every env, the next one too), any other file its own path; a rule
    that hides a whole folder needs that folder brought back before its files."""
    lines: list[str] = []
    for item in hidden_files:
        path = PurePosixPath(item.path)
        rule = item.pattern.strip()
        folder_rule = rule.endswith("/") or rule.rstrip("/").endswith(str(path.parent))
        if folder_rule and str(path.parent) != ".":
            lines.append(f"!/{path.parent}/")
        if path.parent.name == "config" and path.suffix == ".yaml":
            lines.append(f"!/{path.parent}/*.yaml")
        else:
            lines.append(f"!/{path}")
    return list(dict.fromkeys(lines))


def refusal(hidden_files: list[Hidden], path: str) -> str:
    """init's one-line refusal, with the fix."""
    rules = "; ".join(item.text() for item in hidden_files)
    return (
        f"inv init: {rules} (git would leave it out of every commit); fix: inv init {path}"
        f" --fix-ignore (appends {', '.join(fix_lines(hidden_files))} to .gitignore), or"
        " change the rule; nothing written"
    )


def tracked(root: Path, paths: list[str]) -> set[str]:
    """Which of the paths git tracks (`git ls-files`); empty outside a work tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *paths],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if out.returncode != 0:
        return set()
    return set(filter(None, out.stdout.decode("utf-8", "replace").split("\0")))
