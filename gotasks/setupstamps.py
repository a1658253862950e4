"""The stamps setup's stages leave in .gotasks/setup/: what a stage did for which inputs,
so that a second `inv setup` on a ready machine knows without starting go."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gotasks.core.files import atomic_write_text
from gotasks.paths import state_dir


def stamp_path(root: Path, name: str) -> Path:
    return state_dir(root) / "setup" / f"{name}.json"


def stamp_key(*parts: bytes | str) -> str:
    """One digest of what a stage's result depends on (the parts kept apart)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def read_stamp(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; {} when it is missing or damaged (the stage runs again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_stamp(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data) + "\n")


def file_sizes(folder: Path, files: list[str]) -> dict[str, int]:
    """The size of each of `files` (relative to `folder`) that exists."""
    sizes = {}
    for rel in files:
        try:
            sizes[rel] = (folder / rel).stat().st_size
        except OSError:
            continue
    return sizes
