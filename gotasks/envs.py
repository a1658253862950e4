"""Which envs a project has (config/<env>.yaml) and which one a run uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from gotasks.core.errors import UsageError


def config_dir(root: Path) -> Path:
    return root / "config"


# An env's name reaches shell text (`inv env`'s comment and exports) and file names
# (.gotasks/bench/<env>/): only plain words.
ENV_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def known_envs(root: Path) -> list[str]:
    folder = config_dir(root)
    if not folder.is_dir():
        return []
    names = sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "base")
    for name in names:
        if not ENV_NAME.fullmatch(name):
            raise UsageError(
                f"{folder}: {name + '.yaml'!r}: an env's name must be a plain word"
                " (letters, digits, '_', '.', '-'): rename the file"
            )
    return names


def select_env(root: Path, explicit: str | None, environ: Mapping[str, str]) -> str:
    """--env > GOTASKS_ENV > test when CI is set > dev; unknown names list the known ones."""
    name = explicit or environ.get("GOTASKS_ENV") or ("test" if environ.get("CI") else "dev")
    source = "--env" if explicit else ("GOTASKS_ENV" if environ.get("GOTASKS_ENV") else "default")
    known = known_envs(root)
    if not known:
        raise UsageError(f"{config_dir(root)}: no config/<env>.yaml files found")
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown env {name!r} (from {source}); known envs: {', '.join(known)}{hint}"
        )
    return name
