"""Where a gotasks project keeps things: its root, state (.gotasks/) and artifacts (dist/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    """$GOTASKS_ROOT, else the folder holding the tasks.py that invoke loaded."""
    override = os.environ.get("GOTASKS_ROOT")
    if override:
        return Path(override).resolve()
    return Path(sys.modules["tasks"].__file__ or ".").resolve().parent


def state_dir(root: Path) -> Path:
    return root / ".gotasks"


def dist_dir(root: Path) -> Path:
    return root / "dist"


def dist_lock(root: Path) -> Path:
    """Held while dist/ changes (a swap, the recovery from a killed one, cleaning up)."""
    return state_dir(root) / "dist.lock"
