"""`inv hooks.install` / `inv hooks.uninstall`: a plain git pre-commit hook that runs
`inv lint --staged`, for teams without the pre-commit framework."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import settings_of
from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text
from gotasks.engine import task
from gotasks.go.hookscript import MARKER, hook_script

# Writing a hook needs the settings (the project root), not a go.
_HOOKS: dict[str, Any] = {"needs": ("settings",), "cpu": 0.5, "mem": "128M"}


def _hook(root: Path, action: str) -> tuple[Path, Path]:
    """The work tree's top and the pre-commit hook's path, or a usage error outside git."""
    from gotasks.go.git import GitError, git_path, toplevel

    try:
        top = toplevel(root)
        if top is None:
            raise UsageError(f"hooks.{action}: {root} is not in a git repository")
        return top, git_path(root, "hooks/pre-commit")
    except GitError as error:
        raise UsageError(f"hooks.{action}: {error}") from None


def _outside(hook: Path, top: Path, root: Path) -> bool:
    """Whether the hook's folder is outside the repository (its work tree and its .git): a
    core.hooksPath that other repositories share."""
    from gotasks.go.git import GitError, git_common_dir

    try:
        common = git_common_dir(root).resolve()
    except GitError as error:
        raise UsageError(f"hooks.install: {error}") from None
    # The folder, not the hook: a hook may be a link to a script kept elsewhere.
    folder = hook.parent.resolve()
    return not (folder.is_relative_to(top) or folder.is_relative_to(common))


def _ours(hook: Path) -> bool:
    try:
        return MARKER in hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # a dangling symlink, a folder: not a file gotasks wrote


def _backup(hook: Path) -> Path:
    """Keep a hook about to be replaced beside it: pre-commit.bak (else .bak.2, ...)."""
    backup = hook.with_name(hook.name + ".bak")
    number = 1
    while backup.exists() or backup.is_symlink():
        number += 1
        backup = hook.with_name(f"{hook.name}.bak.{number}")
    if hook.is_symlink():
        # A link to a shared script stays a link to it.
        os.symlink(os.readlink(hook), backup)
    else:
        shutil.copy2(hook, backup)
    return backup


@task(
    **_HOOKS,
    help={
        "force": "replace a pre-commit hook gotasks did not write (kept as pre-commit.bak);"
        " write into a core.hooksPath outside this repository"
    },
)
def install(c: Context, force: bool = False) -> None:
    """Install a git pre-commit hook that runs `inv lint --staged` (honours core.hooksPath)."""
    root = settings_of(c.config).root
    top, hook = _hook(root, "install")
    if not force and _outside(hook, top, root):
        raise UsageError(
            f"hooks.install: the hooks folder {hook.parent} (core.hooksPath) is outside this"
            " repository, so other repositories run its hooks too; --force writes the hook"
            " there anyway (it does nothing in those)"
        )
    exists = hook.exists() or hook.is_symlink()
    if exists and not _ours(hook) and not force:
        raise UsageError(
            f"hooks.install: {hook} exists and gotasks did not write it;"
            " --force replaces it (keeping it as pre-commit.bak)"
        )
    backup = _backup(hook) if exists and not _ours(hook) else None
    project = Path(os.path.relpath(root, top)).as_posix()
    # Written whole and executable from the start: git runs the old hook or the new one
    # (a hook not yet executable would be skipped).
    atomic_write_text(hook, hook_script(top, project, sys.executable), mode=0o755)
    if backup is not None:
        console.info(f"kept the previous hook as {backup}")
    console.ok(f"{hook}: runs `inv lint --staged` on each commit (skip once: --no-verify)")


@task(**_HOOKS)
def uninstall(c: Context) -> None:
    """Remove the pre-commit hook `inv hooks.install` wrote; any other hook stays."""
    root = settings_of(c.config).root
    _, hook = _hook(root, "uninstall")
    if not (hook.exists() or hook.is_symlink()):
        console.info(f"no pre-commit hook at {hook}: nothing to remove")
        return
    if not _ours(hook):
        console.info(f"{hook} was not installed by gotasks: left as it is")
        return
    hook.unlink()
    console.ok(f"removed {hook}")
    backup = hook.with_name(hook.name + ".bak")
    if backup.exists():
        console.info(f"the hook install --force replaced is still there: {backup}")


def collection() -> Collection:
    hooks = Collection("hooks")
    hooks.add_task(install)
    hooks.add_task(uninstall)
    return hooks
