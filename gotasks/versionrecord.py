"""Which gotasks release a repository was set up with: a line of its invoke.yaml that
`inv init` writes, read without YAML (doctor reads it on every run) and compared with the
installed gotasks."""

from __future__ import annotations

import re
from pathlib import Path

RECORD_FILE = "invoke.yaml"
KEY = "gotasks_version"
_LINE = re.compile(rf"""^{KEY}:\s*["']?([^"'\s#]+)["']?\s*(#.*)?$""")


def recorded(root: Path) -> tuple[str, int] | None:
    """The recorded version and its line number in invoke.yaml; None without a record."""
    try:
        text = (root / RECORD_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.match(line)
        if match:
            return match.group(1), number
    return None


def with_record(text: str, version: str) -> str:
    """invoke.yaml's text with the record set to `version` (the line replaced in place)."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if _LINE.match(line.rstrip("\n")):
            lines[index] = f'{KEY}: "{version}"\n'
            return "".join(lines)
    return text + ("" if not text or text.endswith("\n") else "\n") + f'{KEY}: "{version}"\n'


def release_key(version: str) -> tuple[tuple[int, str], ...]:
    """A sortable form of a release: 0.10.0 after 0.9.1; 1.0.0rc1 before 1.0.0 is not
    needed here, so any text after a part's digits only breaks ties."""
    parts = []
    for part in version.split("."):
        digits = part[: len(part) - len(part.lstrip("0123456789"))]
        parts.append((int(digits) if digits else -1, part[len(digits) :]))
    return tuple(parts)


def comparison(installed: str, recorded_version: str) -> int:
    """-1 when the installed gotasks is older than the recorded one, 1 newer, 0 the same."""
    a, b = release_key(installed), release_key(recorded_version)
    return (a > b) - (a < b)
