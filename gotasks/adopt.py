"""`inv init PATH`: gotasks copied into an existing Go repository, none of the user's files
overwritten, and a run that fails half-way takes back what it wrote."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from invoke.context import Context

from gotasks.core.cancel import check_stop
from gotasks.core.errors import GoTasksError, TaskFailed, UsageError, describe
from gotasks.core.schema import validate
from gotasks.core.yamlconf import load
from gotasks.engine import task
from gotasks.go.staged import GitError, toplevel
from gotasks.settings import SPEC

# What every adoption needs: the loader and the executor's hook, then the task modules and
# the envs. Written in this order.
REQUIRED_FILES = ("tasks.py", "invoke.yaml")
REQUIRED_TREES = ("config",)
# Copied when the running gotasks has them: not every checkout or installed copy does.
OPTIONAL_FILES = (".pre-commit-config.yaml", "Dockerfile", ".dockerignore")
# What gotasks writes into a repository and git must not see: an untracked file would make
# every build `-dirty`.
GITIGNORE_LINES = ("/.gotasks/", "/dist/", "__pycache__/")
# pyproject.toml's dependencies, for the next steps (an installed gotasks has no pyproject).
DEPENDENCIES = ("invoke", "gitpython", "psutil", "colorama", "PyYAML")
# The plumbing `inv` needs from gotasks: when the user's own copy was kept, say so.
_PLUMBING = ("tasks.py", "invoke.yaml")


def gotasks_source() -> Path:
    """The gotasks that is running: the folder of the tasks.py invoke imported.

    Not gotasks.paths.project_root(): its $GOTASKS_ROOT names the project gotasks works on,
    which need not hold gotasks' files; what init copies is the code that runs."""
    import gotasks

    return Path(gotasks.__file__ or ".").resolve().parents[1]


@dataclass
class Adoption:
    """What one `inv init` did, by path relative to the target."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    gitignore_added: list[str] = field(default_factory=list)
    gitignore_created: bool = False


@task(
    needs=(),
    cpu=0.1,
    mem="64M",
    positional=["path"],
    help={"path": "the Go repository: a folder with go.mod or go.work at its top"},
)
def init(c: Context, path: str) -> None:
    """Put gotasks into the Go repository at PATH, never overwriting a file there.

    Copies tasks.py, invoke.yaml, tasks/, config/ (and the pre-commit config, Dockerfile and
    .dockerignore when this gotasks has them); .gitignore gets the lines gotasks needs."""
    source = gotasks_source()
    target = checked_target(path, source)
    files = plan(source, target)
    print(f"gotasks from {source} into {target}", flush=True)
    adoption = adopt(source, target, files)
    print(report(source, target, files, adoption, _git_top(target)), flush=True)


def checked_target(path: str, source: Path) -> Path:
    """PATH as a resolved folder, or a UsageError (exit 2) before anything is written."""
    target = Path(path).expanduser()
    if not target.exists():
        raise UsageError(f"inv init: {path} does not exist")
    if not target.is_dir():
        raise UsageError(f"inv init: {path} is not a directory")
    target = target.resolve()
    if target == source:
        raise UsageError(
            f"inv init: {path} is the gotasks that is running ({source}); name the Go"
            " repository to put it into"
        )
    if not ((target / "go.mod").is_file() or (target / "go.work").is_file()):
        raise UsageError(f"inv init: {path} is not a Go module (no go.mod or go.work)")
    taken = _taken(target)
    if taken:
        raise UsageError(f"inv init: {taken}; nothing written")
    return target


def _taken(target: Path) -> str | None:
    """Why a tasks/ or config/ of the target is the repository's own (a Go package, the
    app's YAML), where gotasks' files must not go: its tasks and envs live at exactly
    those names. None when they are free or gotasks' already."""
    for name in REQUIRED_TREES:
        folder = target / name
        go_file = _a_go_file(folder) if folder.is_dir() else None
        if go_file is not None:
            rel = go_file.relative_to(target).as_posix()
            return f"{folder} is a Go package of yours ({rel}); gotasks needs {name}/ for its own"
    config = target / "config"
    for path in sorted(config.glob("*.yaml")) if config.is_dir() else []:
        label = path.relative_to(target).as_posix()
        try:
            # Checked as gotasks reads an env file (merged over nothing): an app's YAML
            # has keys gotasks does not know.
            validate(SPEC, load(path, label))
        except UsageError as error:
            why = str(error).split("; known keys", 1)[0]
            return (
                f"{config} holds YAML that is not a gotasks env file ({why}); gotasks needs"
                " config/ for its envs"
            )
    return None


def _a_go_file(folder: Path) -> Path | None:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".go"):
                return Path(dirpath) / name
    return None


def _git_top(target: Path) -> Path | None:
    """The top level of the git work tree holding the target; None outside git (or when git
    cannot say: the next steps are advice)."""
    try:
        return toplevel(target)
    except GitError:
        return None


def plan(source: Path, target: Path, optional: tuple[str, ...] = OPTIONAL_FILES) -> list[str]:
    """Every file to copy, relative to both roots, in the order they are written: the
    required ones, then those of `optional` the source has. A UsageError when the source is
    incomplete or a file of the target blocks a folder."""
    missing = [
        name
        for name, there in [
            *((n, (source / n).is_file()) for n in REQUIRED_FILES),
            *((n + "/", (source / n).is_dir()) for n in REQUIRED_TREES),
        ]
        if not there
    ]
    if missing:
        raise UsageError(
            f"inv init: the running gotasks ({source}) has no {', '.join(missing)} to copy;"
            " run it from a gotasks checkout"
        )
    files = list(REQUIRED_FILES)
    for name in REQUIRED_TREES:
        files += _tree(source, name)
    files += [name for name in optional if (source / name).is_file()]
    for folder in sorted({p for rel in files for p in Path(rel).parents if p != Path(".")}):
        # A file (or a dangling link) where gotasks needs a folder: nothing could go under it.
        where = target / folder
        if os.path.lexists(where) and not where.is_dir():
            raise UsageError(
                f"inv init: {where} is in the way: gotasks needs a folder {folder.as_posix()}/"
                " there"
            )
    return files


def _tree(source: Path, name: str) -> list[str]:
    files = []
    for dirpath, dirnames, filenames in os.walk(source / name):
        # Bytecode is the running Python's, not gotasks'; the adopter's Python makes its own.
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel = Path(dirpath).relative_to(source)
        files += [(rel / f).as_posix() for f in sorted(filenames) if not f.endswith(".pyc")]
    return files


class _Undo:
    """What this run created (files, folders, lines appended to .gitignore), so that a
    failure can take exactly that back and nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[Path] = []
        self.folders: list[Path] = []
        self.known: set[Path] = {root}
        self.appended: tuple[Path, int] | None = None

    def folder(self, path: Path) -> None:
        if path in self.known:
            return
        self.folder(path.parent)
        try:
            os.mkdir(path)
            self.folders.append(path)
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
        self.files.append(path)
        return fd

    def undo(self) -> list[Path]:
        """Remove what this run created; returns what could not be removed."""
        left = []
        if self.appended is not None:
            path, size = self.appended
            try:
                os.truncate(path, size)
            except OSError:
                left.append(path)
        for path in reversed(self.files):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                left.append(path)
        for path in reversed(self.folders):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                # Not empty: someone else put a file there meanwhile; theirs stays.
                left.append(path)
        return left


def adopt(source: Path, target: Path, files: list[str]) -> Adoption:
    """Copy `files` from source to target, never overwriting, then complete .gitignore.
    On any failure, what this run created is removed before the error goes on."""
    adoption = Adoption()
    undo = _Undo(target)
    try:
        for rel in files:
            check_stop()
            copied = _copy(source / rel, target / rel, undo)
            (adoption.written if copied else adoption.skipped).append(rel)
        check_stop()
        _gitignore(target / ".gitignore", adoption, undo)
    except BaseException as error:
        left = undo.undo()
        taken_back = f"{len(undo.files)} files and {len(undo.folders)} folders" + (
            " and the lines added to .gitignore" if undo.appended else ""
        )
        after = (
            f"; removed what this run had written ({taken_back})"
            if not left
            else "; could not remove " + ", ".join(str(p) for p in left)
        )
        if isinstance(error, OSError):
            into = not error.filename or Path(os.fsdecode(error.filename)).is_relative_to(target)
            verb = "write" if into else "read"
            raise TaskFailed(f"inv init: cannot {verb}: {describe(error)}{after}") from None
        if isinstance(error, GoTasksError):
            error.args = (f"{error}{after}",)
        raise
    return adoption


def _copy(source: Path, target: Path, undo: _Undo) -> bool:
    """Copy one file unless the target exists; its permission bits come along (the umask
    applies, as for any new file)."""
    fd = undo.create(target, source.stat().st_mode & 0o777)
    if fd is None:
        return False
    _fill(fd, source)
    return True


def _fill(fd: int, source: Path) -> None:
    with open(fd, "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)


def _gitignore(path: Path, adoption: Adoption, undo: _Undo) -> None:
    """Append the lines gotasks needs that .gitignore lacks; no other line is touched."""
    fd = undo.create(path, 0o666)
    if fd is not None:
        adoption.gitignore_created = True
        existing = b""
    else:
        existing = path.read_bytes()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        present = {line.strip() for line in existing.decode("utf-8", "replace").splitlines()}
        missing = [line for line in GITIGNORE_LINES if not _ignored(line, present)]
        if not missing:
            return
        if not adoption.gitignore_created:
            undo.appended = (path, os.fstat(fd).st_size)
        lead = b"" if not existing or existing.endswith(b"\n") else b"\n"
        text = "# gotasks (inv init): its state and build output\n" + "".join(
            line + "\n" for line in missing
        )
        _write_all(fd, lead + text.encode())
        adoption.gitignore_added = missing
    finally:
        os.close(fd)


def _ignored(wanted: str, present: set[str]) -> bool:
    """Whether one of the lines already ignores what `wanted` does: `dist/` or `dist` ignore
    `/dist/` too, `**/__pycache__/` is `__pycache__/`."""
    bare = wanted.strip("/")
    variants = {bare, bare + "/"}
    if wanted.startswith("/"):
        variants |= {"/" + bare, "/" + bare + "/"}
    else:
        variants |= {"**/" + bare, "**/" + bare + "/"}
    return bool(variants & present)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def report(
    source: Path, target: Path, files: list[str], adoption: Adoption, top: Path | None = None
) -> str:
    """What was written and kept, and the next steps; `top`: the git work tree's top."""
    lines = [
        f"written: {_listing(adoption.written, files) or 'nothing'}",
        _gitignore_line(adoption),
    ]
    if adoption.skipped:
        lines.append(f"skipped (yours, kept): {_listing(adoption.skipped, files)}")
    for name in _PLUMBING:
        if name in adoption.skipped and _differs(source / name, target / name):
            lines.append(
                f"note: your {name} is not gotasks': merge {source / name} into it, or inv"
                " will not run gotasks' tasks there"
            )
    lines += [
        "next steps:",
        f"  cd {target}",
        f"  python3 -m pip install {' '.join(DEPENDENCIES)}",
        "  edit config/*.yaml: your company proxy, GOPRIVATE, build.targets",
        "  inv ci",
    ]
    if top is not None and top != target:
        lines.append(
            f"  inv hooks.install    # not pre-commit: its hook runs inv from {top}, the"
            " repository's top, and gotasks is not there"
        )
    elif ".pre-commit-config.yaml" in adoption.written:
        lines.append("  pre-commit install   # the hooks in .pre-commit-config.yaml")
    return "\n".join(lines)


def _gitignore_line(adoption: Adoption) -> str:
    if adoption.gitignore_added:
        verb = "created with" if adoption.gitignore_created else "added"
        return f".gitignore: {verb} {', '.join(adoption.gitignore_added)}"
    return f".gitignore: already ignores {', '.join(GITIGNORE_LINES)}"


def _listing(paths: list[str], files: list[str]) -> str:
    """Paths in plan order; a tree whose every file is in `paths` shows as `tasks/ (57 files)`."""
    chosen = set(paths)
    trees = {name: [f for f in files if f.startswith(name + "/")] for name in REQUIRED_TREES}
    whole = {name for name, tree in trees.items() if tree and chosen.issuperset(tree)}
    parts: list[str] = []
    for rel in files:
        top = rel.split("/", 1)[0]
        if rel not in chosen:
            continue
        if "/" in rel and top in whole:
            summary = f"{top}/ ({len(trees[top])} files)"
            if summary not in parts:
                parts.append(summary)
        else:
            parts.append(rel)
    return ", ".join(parts)


def _differs(ours: Path, theirs: Path) -> bool:
    try:
        return ours.read_bytes() != theirs.read_bytes()
    except OSError:
        return True
