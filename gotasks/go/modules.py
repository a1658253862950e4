"""Go module discovery: go.work's `use` lines, else every go.mod, or the configured list."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gotasks.core.errors import UsageError
from gotasks.go.artifacts import short_name
from gotasks.go.sources import SKIP_DIRS

_MODULE_LINE = re.compile(r"^\s*module\s+(\"[^\"]+\"|\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Module:
    rel: str  # path from the project root, "." for the root itself; the module's task id
    dir: Path
    path: str  # the module path from go.mod
    # A short name for artifacts (dist/, .gotasks/): the last element of the module path,
    # or, where two modules share it, the module path with "/" as "_".
    name: str = ""
    # How the module is shown and chosen (build[yq], --module=yq): its folder, but for a
    # module at the root, whose folder "." says nothing, its name.
    label: str = ""


def discover(root: Path, listed: Sequence[Path] = ()) -> list[Module]:
    """The Go modules under root: the `listed` folders, else go.work's, else every go.mod."""
    dirs = list(listed) if listed else module_dirs(root)
    modules = sorted({m.rel: m for m in (_read(root, d) for d in dirs)}.values(), key=_rel)
    short = [short_name(m.path) for m in modules]
    named = [
        replace(m, name=s if short.count(s) == 1 else m.path.replace("/", "_"))
        for m, s in zip(modules, short, strict=True)
    ]
    folders = {m.rel for m in named}
    return [replace(m, label=_label(m, folders)) for m in named]


def module_dirs(root: Path) -> list[Path]:
    """The modules' folders without a configured list: go.work's `use` lines, else every
    go.mod under root (not in vendor/, testdata/, hidden or `_` folders)."""
    return _workspace_dirs(root) if (root / "go.work").is_file() else _walk(root)


def read_module(root: Path, directory: Path) -> Module:
    """The module at `directory` (its go.mod's module line), relative to root."""
    return _read(root, directory)


def _label(module: Module, folders: set[str]) -> str:
    if module.rel != "." or module.name in folders:
        return module.rel  # a folder of that name would make the name ambiguous
    return module.name


def _rel(module: Module) -> str:
    return module.rel


def find(modules: list[Module], wanted: str) -> Module:
    """A module by its label or folder (as listed by `discover`), its module path or its
    name; a folder's exact name wins over another module's name."""
    for module in modules:
        if wanted in (module.label, module.rel):
            return module
    for module in modules:
        if wanted in (module.path, module.name) or Path(wanted).resolve() == module.dir:
            return module
    known = [m.label for m in modules]
    close = difflib.get_close_matches(wanted, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"unknown module {wanted!r}{hint}; modules here: {', '.join(known) or 'none'}")


def _workspace_dirs(root: Path) -> list[Path]:
    text = (root / "go.work").read_text(encoding="utf-8")
    uses: list[tuple[int, str]] = []
    in_block = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
            elif line:
                uses.append((lineno, line))
        elif line.startswith("use"):
            rest = line[3:].strip()
            if rest == "(":
                in_block = True
            elif rest:
                uses.append((lineno, rest))
    dirs = []
    for lineno, rel in uses:
        path = (root / rel.strip('"')).resolve()
        if not (path / "go.mod").is_file():
            raise UsageError(f"go.work:{lineno}: use {rel}: no go.mod there")
        dirs.append(path)
    return dirs


def _walk(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith((".", "_"))
        )
        if "go.mod" in filenames:
            found.append(Path(dirpath).resolve())
    return found


def _read(root: Path, directory: Path) -> Module:
    gomod = directory / "go.mod"
    try:
        text = gomod.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{gomod}: cannot read as UTF-8 text ({error})") from None
    match = _MODULE_LINE.search(text)
    if not match:
        raise UsageError(f"{gomod}: no module line")
    rel = os.path.relpath(directory, root.resolve())
    return Module(rel=rel.replace(os.sep, "/"), dir=directory, path=match.group(1).strip('"'))
