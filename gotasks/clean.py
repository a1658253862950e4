"""`inv clean`: what builds and test runs leave behind; with --all, gotasks' state too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import settings_of
from gotasks.core import console
from gotasks.core.units import format_size
from gotasks.engine import task
from gotasks.gobuild import dist_locked
from gotasks.paths import dist_dir, dist_lock, state_dir

if TYPE_CHECKING:
    pass

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
    from gotasks.go import dist as dist_folder
    from gotasks.go.sdk.store import remove_tree, tree_bytes

    root = settings_of(c.config).root
    state, dist = state_dir(root), dist_dir(root)
    # Under the lock builds swap dist/ under: never half of a swap. A build still running
    # keeps its scratch folder (it would fail on a vanished one); a killed one's goes.
    with dist_locked(dist_lock(root)):
        for line in dist_folder.tidy(dist):
            console.info(line)
        doomed = _dist_entries(dist) + [state / name for name in SCRATCH]
        if all and state.is_dir():
            kept = {p.name for p in doomed}
            # the lock files stay until the end: a run waiting on one must not lose it midway
            doomed += sorted(
                p for p in state.iterdir() if p.name not in kept and p.suffix != ".lock"
            )
        present = [p for p in doomed if p.exists() or p.is_symlink()]
        for path in present:
            size = tree_bytes(path) if path.is_dir() else path.lstat().st_size
            console.info(f"removing {os.path.relpath(path, root)} ({format_size(size)})")
        for path in present:
            remove_tree(path)
        if dist.is_dir() and not any(dist.iterdir()):
            dist.rmdir()
    if all:
        for lock in state.glob("*.lock"):
            lock.unlink(missing_ok=True)
        if state.is_dir() and not any(state.iterdir()):
            state.rmdir()
    console.ok(f"clean: removed {len(present)}" if present else "clean: nothing to remove")


def _dist_entries(dist: Path) -> list[Path]:
    """dist/'s contents but the scratch folders of builds that still run (tidy removed the
    others)."""
    from gotasks.go import dist as dist_folder

    if not dist.is_dir():
        return []
    return sorted(p for p in dist.iterdir() if not p.name.startswith(dist_folder.SCRATCH_PREFIX))
