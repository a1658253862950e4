"""A repository adopted by copying (gotasks before it was a package: tasks.py, invoke.yaml
and a tasks/ folder of gotasks' code): which of those files are gotasks' copies unchanged
(removed by `inv init`), which a team edited (kept, with how much they differ), which were
never gotasks' at all.

gotasks/shipped/manifest.json holds the sha256 of every version of those files ever
shipped, copies.json.xz their text; scripts/shipped_manifest.py makes both from git."""

from __future__ import annotations

import difflib
import hashlib
import json
import lzma
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "shipped"
# Where copy-era gotasks lived in a repository: its loader, the executor's config, the
# pre-commit config and the code.
COPIED_FILES = ("tasks.py", "invoke.yaml", ".pre-commit-config.yaml")
COPIED_TREE = "tasks"


@cache
def manifest() -> dict[str, frozenset[str]]:
    """path -> the sha256 of every version gotasks ever shipped at that path."""
    data = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    return {path: frozenset(digests) for path, digests in data["files"].items()}


@cache
def _copies() -> dict[str, str]:
    data: dict[str, str] = json.loads(lzma.decompress((SHIPPED / "copies.json.xz").read_bytes()))
    return data


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Edited:
    """A copy of a gotasks file the team changed: kept, never removed."""

    path: str
    added: int
    removed: int

    def summary(self) -> str:
        return (
            f"{self.path}: yours, kept (+{self.added} -{self.removed} lines against gotasks' copy)"
        )


@dataclass
class CopyEra:
    """What a copy-adopted repository holds of gotasks, by path relative to its root."""

    unchanged: list[str] = field(default_factory=list)  # a version gotasks shipped: removable
    edited: list[Edited] = field(default_factory=list)  # a shipped path, other content: kept
    foreign: list[str] = field(default_factory=list)  # under tasks/, never gotasks': kept

    def leftovers(self) -> list[str]:
        """The files of the team's kept under tasks/ (edited copies, their own modules)."""
        tree = COPIED_TREE + "/"
        return [e.path for e in self.edited if e.path.startswith(tree)] + self.foreign

    @property
    def found(self) -> bool:
        """Whether the repository has any gotasks code copied into tasks/."""
        return any(p.startswith(COPIED_TREE + "/") for p in self.unchanged) or any(
            e.path.startswith(COPIED_TREE + "/") for e in self.edited
        )


def is_shipped(rel: str, data: bytes) -> bool:
    return digest(data) in manifest().get(rel, frozenset())


def survey_copies(root: Path) -> CopyEra:
    """Classify tasks/ (every file but bytecode) and the copied top-level files."""
    era = CopyEra()
    shipped = manifest()
    candidates = [rel for rel in COPIED_FILES if (root / rel).is_file()]
    tree = root / COPIED_TREE
    if tree.is_dir() and not tree.is_symlink():
        for dirpath, dirnames, filenames in os.walk(tree):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            rel_dir = Path(dirpath).relative_to(root)
            candidates += [(rel_dir / f).as_posix() for f in sorted(filenames)]
    for rel in candidates:
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if rel not in shipped:
            if rel.startswith(COPIED_TREE + "/"):
                era.foreign.append(rel)
            continue
        if digest(data) in shipped[rel]:
            era.unchanged.append(rel)
        else:
            era.edited.append(_edited(rel, data))
    return era


def _edited(rel: str, data: bytes) -> Edited:
    """Lines added and removed against the closest version gotasks shipped at `rel`."""
    yours = data.decode("utf-8", "replace").splitlines()
    copies = _copies()
    best: tuple[int, int] | None = None
    for version in sorted(manifest()[rel]):
        theirs = copies[version].splitlines()
        added = removed = 0
        matcher = difflib.SequenceMatcher(None, theirs, yours, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                removed += i2 - i1
                added += j2 - j1
        if best is None or added + removed < sum(best):
            best = (added, removed)
    assert best is not None  # a path in the manifest has at least one version
    return Edited(rel, *best)
