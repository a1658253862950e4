"""What a commit would record: git's staged Go files, their content, and where gofmt differs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gotasks.go.git import git
from gotasks.go.modules import Module
from gotasks.go.sources import SKIP_DIRS, batches

GO_MOD_FILES = ("go.mod", "go.sum")
# A workspace file changes how every module of the workspace builds.
GO_WORK_FILES = ("go.work", "go.work.sum")


def _paths(out: bytes) -> list[str]:
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


@dataclass
class StagedFiles:
    """What the next commit changes, relative to the top level."""

    # Added, copied, modified, or renamed to: there is staged content to check.
    content: list[str] = field(default_factory=list)
    # Deleted, renamed away, or no longer a plain file (type changed: a symlink, a
    # submodule): no content to check, but their package changed.
    gone: list[str] = field(default_factory=list)


def staged_files(top: Path) -> StagedFiles:
    """What the next commit changes; a relative GIT_INDEX_FILE (a hook's) is read from the
    top level too."""
    out = git(top, "diff", "--cached", "--name-status", "-z", "--diff-filter=ACDMRT")
    fields = _paths(out)
    staged = StagedFiles()
    index = 0
    while index < len(fields):
        status = fields[index][0]
        if status in "RC":  # R100 OLD NEW: the old path is gone (a copy's stays)
            old, new = fields[index + 1], fields[index + 2]
            staged.content.append(new)
            if status == "R":
                staged.gone.append(old)
            index += 3
            continue
        (staged.gone if status in "DT" else staged.content).append(fields[index + 1])
        index += 2
    return staged


def unstaged(top: Path, paths: list[str]) -> set[str]:
    """Those of `paths` (top-relative) whose working-tree copy differs from the staged one."""
    found: set[str] = set()
    for batch in batches(paths):
        found.update(_paths(git(top, "diff", "--name-only", "-z", "--", *batch)))
    return found


def checkout_staged(top: Path, paths: list[str], dest: Path) -> None:
    """Write the staged content of `paths` (top-relative) under `dest`, same relative paths;
    the work tree is not touched."""
    listing = b"".join(os.fsencode(p) + b"\0" for p in paths)
    git(top, "checkout-index", f"--prefix={dest}{os.sep}", "-z", "--stdin", stdin=listing)


@dataclass
class ModuleChanges:
    """The staged files of one module that lint looks at."""

    module: Module
    go_files: list[str] = field(default_factory=list)  # relative to the git top level
    mod_files: list[str] = field(default_factory=list)  # its go.mod / go.sum, if staged
    packages: list[str] = field(default_factory=list)  # for go vet: "./greet", "."


def by_module(staged: StagedFiles, top: Path, modules: list[Module]) -> dict[str, ModuleChanges]:
    """The staged files lint would check, by module (its rel).

    A file belongs to the innermost module holding it; files outside every module, in
    vendor/, testdata/, hidden or `_` folders, or in a nested module lint does not check
    (not in the module list) are left out, as `inv lint` leaves them. A gone .go file's
    package is vetted while its folder still has Go files (the folder gone: nothing is left
    to vet); a gone go.sum still gets the tidiness check. A staged go.work or go.work.sum
    has every module under its folder vetted whole (tidiness ignores workspaces).
    """
    changes: dict[str, ModuleChanges] = {}

    def entry(module: Module) -> ModuleChanges:
        return changes.setdefault(module.rel, ModuleChanges(module))

    for path, gone in [*((p, False) for p in staged.content), *((p, True) for p in staged.gone)]:
        name = path.rsplit("/", 1)[-1]
        full = top / path
        if name in GO_WORK_FILES:
            for module in modules:
                if module.dir.is_relative_to(full.parent):
                    _add_package(entry(module), "./...")
            continue
        if not name.endswith(".go") and name not in GO_MOD_FILES:
            continue
        owners = [m for m in modules if full.is_relative_to(m.dir)]
        if not owners:
            continue
        module = max(owners, key=lambda m: len(m.dir.parts))
        rel = full.relative_to(module.dir)
        if name in GO_MOD_FILES:
            if len(rel.parts) != 1:
                continue  # a nested module's go.mod that is not in the module list
            if gone and not (module.dir / "go.mod").is_file():
                continue  # the module itself is gone
            entry(module).mod_files.append(path)
            continue
        if not _checked(module.dir, rel):
            continue
        folder = rel.parent.as_posix()
        package = "." if folder == "." else f"./{folder}"
        if not gone:
            entry(module).go_files.append(path)
            _add_package(entry(module), package)
        elif _has_go_files(full.parent):
            _add_package(entry(module), package)
    for changed in changes.values():
        # ./... (a workspace change) covers every other package of the module.
        changed.packages = ["./..."] if "./..." in changed.packages else sorted(changed.packages)
    return changes


def _add_package(changes: ModuleChanges, package: str) -> None:
    if package not in changes.packages:
        changes.packages.append(package)


def _has_go_files(folder: Path) -> bool:
    """Whether go would find a file of a package in `folder` (it skips `.` and `_` files)."""
    try:
        with os.scandir(folder) as entries:
            return any(
                e.name.endswith(".go") and not e.name.startswith((".", "_")) and e.is_file()
                for e in entries
            )
    except OSError:
        return False  # the folder went with its last file


def _checked(module_dir: Path, rel: Path) -> bool:
    """Whether `inv lint` checks this .go file of the module (see go_files)."""
    *folders, name = rel.parts
    if name.startswith((".", "_")):
        return False
    here = module_dir
    for folder in folders:
        if folder in SKIP_DIRS or folder.startswith((".", "_")):
            return False
        here = here / folder
        if (here / "go.mod").exists():
            return False
    return True
