"""Values a user set with `go env -w`: go reads them from its own config file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def go_env_file(environ: Mapping[str, str]) -> Path | None:
    """$GOENV, else <user config dir>/go/env, as cmd/go finds it; None when GOENV=off."""
    explicit = environ.get("GOENV")
    if explicit == "off":
        return None
    if explicit:
        return Path(explicit)
    config = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(config).expanduser() / "go" / "env"


def go_env_file_values(environ: Mapping[str, str]) -> dict[str, str]:
    """KEY=VALUE lines of the go env file; a missing or unreadable file gives nothing."""
    path = go_env_file(environ)
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def with_go_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ`, with `go env -w` values under it: what the user has, as go sees it."""
    return {**go_env_file_values(environ), **environ}
