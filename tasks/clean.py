"""`inv clean`: what builds and test runs leave behind; with --all, gotasks' state too."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from invoke.context import Context

from tasks.context import settings_of
from tasks.engine import console, task
from tasks.engine.files import locked
from tasks.engine.trace import format_bytes
from tasks.go.sdk.store import remove_tree
from tasks.paths import dist_dir, state_dir

# Under .gotasks/: what a run makes again by itself (coverage, inv run's binaries, logs).
SCRATCH = ("cover", "run", "sdk-install.log")


@task(
    cpu=0.1,
    mem="64M",
    needs=("settings",),
    help={
        "all": "also gotasks' state under .gotasks/ (run history, saved benchmark runs, the"
        " project GOPATH), listed before it is removed"
    },
)
def clean(c: Context, all: bool = False) -> None:  # the flag is --all
    """Remove dist/ and the scratch under .gotasks/ (coverage, inv run's builds)."""
    root = settings_of(c.config).root
    state = state_dir(root)
    doomed = [dist_dir(root), *(state / name for name in SCRATCH)]
    if all and state.is_dir():
        kept = {p.name for p in doomed}
        # the lock files last: a run that waits on one must not find it gone midway
        doomed += sorted(p for p in state.iterdir() if p.name not in kept and p.suffix != ".lock")
    present = [p for p in doomed if p.exists() or p.is_symlink()]
    if not present:
        console.info("clean: nothing to remove")
        return
    for path in present:
        console.info(f"removing {os.path.relpath(path, root)} ({format_bytes(_size(path))})")
    # dist/ under the lock the build swaps it under: never half of a build's swap.
    with locked(state / "dist.lock"):
        for path in present:
            remove_tree(path)
    if all:
        for lock in state.glob("*.lock"):
            lock.unlink(missing_ok=True)
        if state.is_dir() and not any(state.iterdir()):
            state.rmdir()
    console.ok(f"clean: removed {len(present)}")


def _size(path: Path) -> int:
    if not path.is_dir() or path.is_symlink():
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # gone meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
