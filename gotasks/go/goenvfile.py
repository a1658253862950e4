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


def default_go_env_file(environ: Mapping[str, str], platform: str) -> str:
    """Where `go env -w` writes, found as go finds it ($GOENV, else os.UserConfigDir()/go/env)
    without running a go: settings are read before the run knows which go it will use."""
    if environ.get("GOENV"):  # as go does, an empty GOENV is unset
        return "" if environ["GOENV"] == "off" else environ["GOENV"]
    home = environ.get("HOME", "")
    if platform.startswith("win"):
        base = environ.get("APPDATA", "")
    elif platform == "darwin":
        base = f"{home}/Library/Application Support" if home else ""
    else:
        xdg = environ.get("XDG_CONFIG_HOME", "")
        base = xdg if xdg.startswith("/") else (f"{home}/.config" if home else "")
    return str(Path(base) / "go" / "env") if base else ""
