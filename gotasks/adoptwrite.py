"""Carrying out `inv init`'s plan (gotasks/adoptplan.py): gotasks' copies set aside, the new
files written (never over a file), .gitignore completed; on any failure all of it is taken
back (core/undo.py) before the error goes on."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gotasks.adoptplan import Plan
from gotasks.core.cancel import check_stop
from gotasks.core.errors import Failure, TaskFailed, UsageError, describe
from gotasks.core.undo import Undo

# Where moved-aside files wait until the run has succeeded (inside the target, so a rename
# is enough; .gotasks/ is ignored).
_TRASH = ".gotasks/init-trash"


class _Applied:
    """What this run did (files and folders created, files moved aside, folders removed,
    lines appended to .gitignore), each with the step that takes it back, so that a failure
    can take exactly that back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.undo = Undo()
        self.files = 0
        self.folders: list[Path] = []
        self.known: set[Path] = {root}
        self.appended = False
        self.moved = 0

    def folder(self, path: Path) -> None:
        if path in self.known:
            return
        self.folder(path.parent)
        try:
            os.mkdir(path)
            self.folders.append(path)
            self.undo.push(str(path), lambda: _rmdir_if_there(path))
        except FileExistsError:
            pass  # the user's (or appeared meanwhile): a file there fails the open below
        self.known.add(path)

    def create(self, path: Path, mode: int) -> int | None:
        """A new file opened for writing, or None when one exists: O_EXCL, so a file that
        appears between any check and this open is still never overwritten."""
        self.folder(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            return None
        self.files += 1
        self.undo.push(str(path), lambda: path.unlink(missing_ok=True))
        return fd

    def append(self, path: Path, size: int) -> None:
        """Lines are about to be appended to `path`, `size` bytes long until now."""
        self.appended = True
        self.undo.push(str(path), lambda: os.truncate(path, size))

    def set_aside(self, path: Path) -> None:
        """Move a file (or a bytecode folder) into the trash; undo moves it back."""
        trash = self.root / _TRASH
        self.folder(trash)
        waiting = trash / str(self.moved)
        os.rename(path, waiting)
        self.moved += 1
        self.undo.push(str(path), lambda: os.rename(waiting, path))

    def remove_folder(self, path: Path) -> None:
        os.rmdir(path)
        self.undo.push(str(path), lambda: os.mkdir(path))

    def finish(self) -> None:
        """The run succeeded: what was set aside goes for good (a leftover is only in the
        ignored .gotasks/)."""
        trash = self.root / _TRASH
        if self.moved or trash in self.folders:
            shutil.rmtree(trash, ignore_errors=True)

    def take_back(self) -> list[str]:
        """Take back what this run did, last first; returns what could not be taken back."""
        return [what for what, error in self.undo.rollback() if error is not None]


def _rmdir_if_there(path: Path) -> None:
    # Not empty (someone else put a file there meanwhile: theirs stays) fails; gone is done.
    with contextlib.suppress(FileNotFoundError):
        path.rmdir()


def apply(
    target: Path,
    plan: Plan,
    ignore_fix: list[str] | None = None,
    verify: Callable[[], None] | None = None,
) -> None:
    """Carry out the plan: gotasks' copies set aside, the new files written (never over a
    file), .gitignore completed. On any failure all of it is taken back before the error
    goes on."""
    undo = _Applied(target)
    try:
        for rel in plan.replaces:
            check_stop()
            undo.set_aside(target / rel)
        for rel in plan.removes:
            check_stop()
            undo.set_aside(target / rel)
        _prune(target, plan.removes, undo)
        for rel, data in [*plan.replaces.items(), *plan.writes.items()]:
            check_stop()
            fd = undo.create(target / rel, 0o666)
            if fd is None:
                raise UsageError(f"inv init: {target / rel} appeared meanwhile; kept")
            with open(fd, "wb") as out:
                _write_all(out.fileno(), data)
        check_stop()
        _gitignore(target / ".gitignore", [*plan.gitignore, *(ignore_fix or [])], undo)
        if verify is not None:
            verify()  # raises when what was written is still wrong: all of it goes back
    except BaseException as error:
        left = undo.take_back()
        taken_back = f"{undo.files} files and {len(undo.folders)} folders" + (
            " and the lines added to .gitignore" if undo.appended else ""
        )
        if undo.moved:
            taken_back += f", {undo.moved} removed files put back"
        after = (
            f"; took back what this run had done ({taken_back})"
            if not left
            else "; could not take back " + ", ".join(left)
        )
        if isinstance(error, OSError):
            raise TaskFailed(f"inv init: cannot write: {describe(error)}{after}") from None
        if isinstance(error, Failure):
            error.args = (f"{error}{after}",)
        raise
    undo.finish()


def _prune(target: Path, removed: list[str], undo: _Applied) -> None:
    """Folders that removing gotasks' copies emptied go too, with the bytecode compiled from
    those copies; a folder with anything of the user's in it stays."""
    folders = sorted(
        {target / p for rel in removed for p in Path(rel).parents if p != Path(".")},
        key=lambda p: len(p.parts),
        reverse=True,
    )
    for folder in folders:
        if not folder.is_dir():
            continue
        cache = folder / "__pycache__"
        if cache.is_dir() and not any(folder.glob("*.py")):
            undo.set_aside(cache)
        if not any(folder.iterdir()):
            undo.remove_folder(folder)


def _gitignore(path: Path, lines: list[str], undo: _Applied) -> None:
    """Append `lines` to .gitignore (created if need be); no other line is touched."""
    if not lines:
        return
    fd = undo.create(path, 0o666)
    if fd is None:
        existing = path.read_bytes()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        undo.append(path, os.fstat(fd).st_size)
    else:
        existing = b""
    try:
        lead = b"" if not existing or existing.endswith(b"\n") else b"\n"
        text = "# gotasks (inv init): its state, build output and virtualenv\n" + "".join(
            line + "\n" for line in lines
        )
        _write_all(fd, lead + text.encode())
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]
