"""Where a gotasks project keeps things: its root, state (.gotasks/) and artifacts (dist/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    """$GOTASKS_ROOT, else the folder holding the project's tasks.py that invoke loaded
    (module `tasks`), else the working folder (gotasks imported outside `inv`)."""
    override = os.environ.get("GOTASKS_ROOT")
    if override:
        return Path(override).resolve()
    loaded = getattr(sys.modules.get("tasks"), "__file__", None)
    return Path(loaded).resolve().parent if loaded else Path.cwd().resolve()


def state_dir(root: Path) -> Path:
    return root / ".gotasks"


def dist_dir(root: Path) -> Path:
    return root / "dist"


def dist_lock(root: Path) -> Path:
    """Held while dist/ changes (a swap, the recovery from a killed one, cleaning up)."""
    return state_dir(root) / "dist.lock"
