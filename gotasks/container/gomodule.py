"""What the image build may do with a module's dependencies before its sources are copied.

The Dockerfile downloads modules in a layer that has only go.mod and go.sum, so a source
change does not download them again. That layer cannot work for a module that vendors (the
vendor folder is not there, and nothing needs downloading), that replaces a module with a
folder (`=> ../lib`: not there either, so `go mod download` fails on ../lib/go.mod), or that
builds in a workspace with other modules (go.work is not there, so their requirements would
be looked up on the proxy). The build step then fetches what it needs itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gotasks.go.modules import _workspace_dirs

_REPLACE = re.compile(r"replace\b\s*(.*)")
_TARGET = re.compile(r"=>\s*(\"[^\"]*\"|`[^`]*`|\S+)")


@dataclass(frozen=True)
class ModuleSources:
    vendored: bool  # go build reads vendor/ (the module's, or the workspace's)
    no_prefetch: str  # why the go.mod-only layer must not download, or ""


def module_sources(root: Path, module_dir: Path) -> ModuleSources:
    """The module at `module_dir`, built from the context `root`, as the go command in the
    image will see it: in a workspace when a go.work sits between the two (inclusive)."""
    work = _go_work(root, module_dir)
    if work is not None:
        vendored = (work.parent / "vendor" / "modules.txt").is_file()
        used = _workspace_dirs(work.parent)
        if len(used) > 1:
            return ModuleSources(vendored, f"{_shown(root, work)} uses {len(used)} modules")
    else:
        vendored = (module_dir / "vendor" / "modules.txt").is_file()
    if vendored:
        return ModuleSources(True, "vendored")
    gomod = module_dir / "go.mod"
    replaces = local_replaces(gomod.read_text(encoding="utf-8"))
    if replaces:
        line, target = replaces[0]
        return ModuleSources(False, f"{_shown(root, gomod)}:{line}: replace => {target}")
    return ModuleSources(False, "")


def local_replaces(gomod: str) -> list[tuple[int, str]]:
    """(line, folder) of each replace directive whose target is a folder, which is what go
    takes a path starting with ./, ../ or / (or . and ..) for (modfile.IsDirectoryPath)."""
    found = []
    in_block = False
    for number, raw in enumerate(gomod.splitlines(), start=1):
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
                continue
        else:
            match = _REPLACE.match(line)
            if match is None:
                continue
            line = match.group(1)
            if line == "(":
                in_block = True
                continue
        target = _TARGET.search(line)
        if target is None:
            continue
        folder = target.group(1).strip('"`')
        if folder in (".", "..") or folder.startswith(("./", "../", "/")):
            found.append((number, folder))
    return found


def _go_work(root: Path, module_dir: Path) -> Path | None:
    folder = module_dir.resolve()
    top = root.resolve()
    while True:
        if (folder / "go.work").is_file():
            return folder / "go.work"
        if folder == top or folder.parent == folder:
            return None
        folder = folder.parent


def _shown(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
