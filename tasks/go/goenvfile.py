"""Values a user set with `go env -w`: go keeps them in its own config file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def go_env_file_values(path: str) -> dict[str, str]:
    """KEY=VALUE lines of the go env file (its path from `go env GOENV`, which knows each
    platform's config folder); "", "off", missing or unreadable give nothing."""
    if not path or path == "off":
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def with_go_env_file(environ: Mapping[str, str], path: str) -> dict[str, str]:
    """`environ`, with `go env -w` values under it: what the user has, as go sees it."""
    return {**go_env_file_values(path), **environ}
