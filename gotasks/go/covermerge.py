"""Go coverage profiles (`go test -coverprofile`, the text format) read, merged and summed.

A profile is a `mode: set|count|atomic` line, then a line per block:
`file.go:startLine.startCol,endLine.endCol numStatements count`. Profiles of the shards of
one test run merge as gocovmerge merges them: the same mode everywhere, the mode line
once, and each block once, its counts ORed (set) or summed (count, atomic).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gotasks.core.errors import UsageError

MODES = ("set", "count", "atomic")
_BLOCK = re.compile(r"(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)")

BlockKey = tuple[str, int, int, int, int]  # file, start line, start col, end line, end col


@dataclass
class Profile:
    mode: str
    blocks: dict[BlockKey, tuple[int, int]] = field(default_factory=dict)  # (stmts, count)

    def add(self, key: BlockKey, statements: int, count: int, where: str) -> None:
        known = self.blocks.get(key)
        if known is None:
            self.blocks[key] = (statements, count)
            return
        if known[0] != statements:
            raise UsageError(
                f"{where}: {key[0]}:{key[1]}.{key[2]} has {statements} statements here and"
                f" {known[0]} in another profile: not profiles of the same code"
            )
        merged = max(known[1], count) if self.mode == "set" else known[1] + count
        self.blocks[key] = (statements, min(merged, 1) if self.mode == "set" else merged)

    def statements(self) -> tuple[int, int]:
        """(covered, total) statements, as `go tool cover -func` counts its total."""
        total = sum(s for s, _ in self.blocks.values())
        covered = sum(s for s, count in self.blocks.values() if count > 0)
        return covered, total

    def text(self) -> str:
        lines = [f"mode: {self.mode}"]
        for key in sorted(self.blocks):
            name, sl, sc, el, ec = key
            statements, count = self.blocks[key]
            lines.append(f"{name}:{sl}.{sc},{el}.{ec} {statements} {count}")
        return "\n".join(lines) + "\n"


def parse_into(profile: Profile | None, text: str, where: str) -> Profile:
    """The blocks of one profile's text added to `profile` (None: a new one)."""
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    mode = first.removeprefix("mode: ").strip() if first.startswith("mode: ") else ""
    if mode not in MODES:
        raise UsageError(f"{where}:1: not a Go coverage profile (no 'mode: set|count|atomic' line)")
    if profile is None:
        profile = Profile(mode)
    elif profile.mode != mode:
        raise UsageError(
            f"{where}: mode {mode}, but the profiles before it are mode {profile.mode}:"
            " profiles of different modes cannot be merged (run every shard alike)"
        )
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        match = _BLOCK.fullmatch(line.strip())
        if not match:
            raise UsageError(f"{where}:{number}: not a coverage block: {line[:80]!r}")
        name, *numbers = match.groups()
        sl, sc, el, ec, statements, count = map(int, numbers)
        profile.add((name, sl, sc, el, ec), statements, count, f"{where}:{number}")
    return profile


def merge_files(paths: Iterable[Path]) -> Profile | None:
    """Every profile merged into one (None: no paths)."""
    merged: Profile | None = None
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"{path}: cannot read the coverage profile: {error}") from None
        merged = parse_into(merged, text, str(path))
    return merged


def is_profile(path: Path) -> bool:
    """Does the file start as a coverage profile does?"""
    try:
        with path.open("rb") as f:
            return f.read(6) == b"mode: "
    except OSError:
        return False
