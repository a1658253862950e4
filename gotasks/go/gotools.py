"""Go tools a module pins with `tool` directives (Go 1.24+), else the ones on PATH.

`go get -tool PATH@VERSION` records a tool in go.mod (and its version in the require
block); `go tool NAME` then builds and runs exactly that version, as an SDK pin does for go.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.errors import UsageError

# Where each tool comes from, for the fix a message names.
KNOWN_TOOLS = {
    "benchstat": "golang.org/x/perf/cmd/benchstat",
    "golangci-lint": "github.com/golangci/golangci-lint/v2/cmd/golangci-lint",
}
# golangci-lint's config file names (v1 and v2 read the same ones).
GOLANGCI_CONFIGS = tuple(f".golangci.{ext}" for ext in ("yml", "yaml", "toml", "json"))
# `tool` directives arrived in Go 1.24.
TOOL_DIRECTIVES_SINCE = "1.24"
_MAJOR_SUFFIX = re.compile(r"^v\d+$")


@dataclass(frozen=True)
class ResolvedTool:
    """How to run a tool: argv's first words, and where it comes from (for the output)."""

    argv: tuple[str, ...]
    origin: str  # "go.mod tool directive" or its path on PATH


def tool_name(package: str) -> str:
    """The NAME of `go tool NAME`: the package path's last element that is not a major
    version suffix (github.com/x/y/v2 is y)."""
    parts = [p for p in package.split("/") if p]
    while len(parts) > 1 and _MAJOR_SUFFIX.match(parts[-1]):
        parts.pop()
    return parts[-1] if parts else package


def parse_tools(edit_json: str) -> list[str]:
    """The package paths of the `tool` lines, from `go mod edit -json`'s output."""
    data = json.loads(edit_json)
    tools = (data.get("Tool") or []) if isinstance(data, dict) else []
    return [t["Path"] for t in tools if isinstance(t, dict) and isinstance(t.get("Path"), str)]


def declared_tools(go: Path, module_dir: Path, env: Mapping[str, str]) -> list[str]:
    """The tools go.mod in `module_dir` declares. go itself reads go.mod, so what counts as
    a tool line is go's call; a go.mod go cannot read is a one-line usage error.

    `env`: the run's Go variables, over this process's environment."""
    try:
        result = subprocess.run(
            [str(go), "mod", "edit", "-json"],
            cwd=module_dir,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"{module_dir}/go.mod: go mod edit -json: {error}") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        raise UsageError(f"{module_dir}/go.mod: {lines[-1]}")
    return parse_tools(result.stdout)


def resolve_tool(name: str, declared: list[str], go: Path) -> ResolvedTool | None:
    """`go tool PACKAGE` when the module declares a tool of that name, else NAME on PATH,
    else None."""
    for package in declared:
        if tool_name(package) == name:
            return ResolvedTool((str(go), "tool", package), f"go.mod tool {package}")
    found = shutil.which(name)
    if found is not None:
        return ResolvedTool((found,), found)
    return None


def add_hint(name: str) -> str:
    """The command that pins `name` in a module (or installs it where no path is known)."""
    package = KNOWN_TOOLS.get(name)
    if package is None:
        return f"put {name} on PATH"
    return f"inv tools.add {package}@latest (or put {name} on PATH)"


def golangci_config(module_dir: Path, root: Path) -> Path | None:
    """The golangci-lint config that applies to a module: golangci-lint looks in the folder
    it runs in and then its parents; we stop at the project root."""
    folder = module_dir.resolve()
    top = root.resolve()
    while True:
        for name in GOLANGCI_CONFIGS:
            if (folder / name).is_file():
                return folder / name
        if folder == top or folder.parent == folder or top not in folder.parents:
            return None
        folder = folder.parent
