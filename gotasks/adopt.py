"""`inv init PATH`: a Go repository set up to use the installed gotasks (a thin tasks.py,
invoke.yaml, config/, the pre-commit config), or migrated from gotasks copied into it.

Nothing of the user's is overwritten; gotasks' own copies (a copy-adopted repository's
tasks/ files, unchanged) are removed; a run that fails half-way takes back what it did."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from invoke.context import Context

from gotasks import migrate, survey, versionrecord
from gotasks.core.cancel import check_stop
from gotasks.core.errors import Failure, TaskFailed, UsageError, describe
from gotasks.core.undo import Undo
from gotasks.engine import task

TEMPLATES = Path(__file__).resolve().parent / "templates"
# What init writes (target path -> template), in this order: the loader and the executor's
# hook, the envs, then the container files.
TEMPLATE_FILES = {
    "tasks.py": "tasks.py.in",
    "invoke.yaml": "invoke.yaml.in",
    "config/base.yaml": "config/base.yaml",
    "config/dev.yaml": "config/dev.yaml",
    "config/test.yaml": "config/test.yaml",
    "config/prod.yaml": "config/prod.yaml",
    "Dockerfile": "Dockerfile",
    ".dockerignore": "dockerignore",
}
PRE_COMMIT = ".pre-commit-config.yaml"
CONFIG = "config"
# What gotasks writes into a repository and git must not see: an untracked file would make
# every build `-dirty`. The next steps put a virtualenv in .venv/.
GITIGNORE_LINES = ("/.gotasks/", "/dist/", "__pycache__/", "/.venv/")
_VERSION_MARK = "@GOTASKS_VERSION@"
# Where moved-aside files wait until the run has succeeded (inside the target, so a rename
# is enough; .gotasks/ is ignored).
_TRASH = ".gotasks/init-trash"


def template_text(rel: str) -> bytes:
    """The bytes init writes at `rel` (a key of TEMPLATE_FILES)."""
    import gotasks

    text = (TEMPLATES / TEMPLATE_FILES[rel]).read_text(encoding="utf-8")
    return text.replace(_VERSION_MARK, gotasks.__version__).encode()


def pre_commit_text(target: Path, top: Path | None) -> bytes | None:
    """The pre-commit config for a project at the repository's top (or outside git); None
    for a project in a subfolder: the config would belong to the top, not to it."""
    from gotasks import installsource, precommit

    if top is not None and top != target:
        return None
    return precommit.config_text(installsource.requirement()).encode()


@dataclass
class Plan:
    """What one `inv init` does, by path relative to the target, in order."""

    writes: dict[str, bytes] = field(default_factory=dict)  # new files
    replaces: dict[str, bytes] = field(default_factory=dict)  # gotasks' copies, rewritten
    removes: list[str] = field(default_factory=list)  # gotasks' copies, unchanged: removed
    kept: list[str] = field(default_factory=list)  # the user's files at paths init writes
    copies: migrate.CopyEra = field(default_factory=migrate.CopyEra)
    gitignore: list[str] = field(default_factory=list)  # lines .gitignore lacks
    record_was: str | None = None  # the version invoke.yaml recorded, when it changes
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.writes or self.replaces or self.removes or self.gitignore)

    def written(self) -> list[str]:
        """Every path this plan writes (new or rewritten), for the ignore check."""
        return [*self.replaces, *self.writes, *([".gitignore"] if self.gitignore else [])]


@task(
    needs=(),
    cpu=0.1,
    mem="64M",
    positional=["path"],
    help={
        "path": "the Go repository: a folder with go.mod or go.work at its top",
        "dry_run": "print what init would write, replace and remove; change nothing",
        "fix_ignore": "when .gitignore hides a file init writes, append the `!` line that"
        " brings it back",
    },
)
def init(c: Context, path: str, dry_run: bool = False, fix_ignore: bool = False) -> None:
    """Set up the Go repository at PATH to use this gotasks (or migrate one that copied it).

    Writes tasks.py (a few lines that load gotasks), invoke.yaml, config/, the pre-commit
    config, Dockerfile and .dockerignore where they are missing; .gitignore gets the lines
    gotasks needs. gotasks' own copies (tasks/, an old tasks.py) are removed when unchanged."""
    set_up(path, dry_run, fix_ignore)


def set_up(path: str, dry_run: bool = False, fix_ignore: bool = False) -> None:
    """`inv init`'s work, callable without invoke (see main())."""
    import gotasks
    from gotasks import ignorecheck

    target = checked_target(path)
    top = _git_top(target)
    plan = make_plan(target, top)
    hidden = ignorecheck.hidden(target, plan.written()) if top is not None else []
    if not plan.changes:
        print(already_line(target, plan), flush=True)
        return
    if dry_run:
        print(f"inv init --dry-run: the plan for {target} (nothing changed)", flush=True)
        print(report(plan, dry=True), flush=True)
        if hidden:
            print(ignorecheck.refusal(hidden, path), flush=True)
        return
    fix = None
    if hidden:
        if not fix_ignore:
            raise UsageError(ignorecheck.refusal(hidden, path))
        fix = ignorecheck.fix_lines(hidden)
    print(f"gotasks {gotasks.__version__} into {target}", flush=True)

    def still_hidden() -> None:
        left = ignorecheck.hidden(target, plan.written()) if fix else []
        if left:
            rules = "; ".join(item.text() for item in left)
            raise UsageError(
                f"inv init: {rules} even with {', '.join(fix or [])}: a rule nearer the"
                " file wins; change it"
            )

    apply(target, plan, fix, still_hidden)
    if fix:
        print(f".gitignore: added {', '.join(fix)} (git saw {len(hidden)} file(s) as ignored)")
    found = survey.survey(target)
    print(report(plan, dry=False), flush=True)
    for line in survey.lines(found):
        print(line, flush=True)
    print(next_steps(target, top, plan, found), flush=True)


def checked_target(path: str) -> Path:
    """PATH as a resolved folder, or a UsageError (exit 2) before anything is written."""
    target = Path(path).expanduser()
    if not target.exists():
        raise UsageError(f"inv init: {path} does not exist")
    if not target.is_dir():
        raise UsageError(f"inv init: {path} is not a directory")
    target = target.resolve()
    if not ((target / "go.mod").is_file() or (target / "go.work").is_file()):
        raise UsageError(f"inv init: {path} is not a Go module (no go.mod or go.work)")
    taken = _taken(target)
    if taken:
        raise UsageError(f"inv init: {taken}; nothing written")
    return target


def _taken(target: Path) -> str | None:
    """Why a config/ of the target is the repository's own (a Go package, the app's YAML),
    where gotasks' envs must not go: they live at exactly that name. None when it is free
    or gotasks' already."""
    from gotasks.core.schema import validate
    from gotasks.core.yamlconf import load
    from gotasks.settings import SPEC

    folder = target / CONFIG
    go_file = _a_go_file(folder) if folder.is_dir() else None
    if go_file is not None:
        rel = go_file.relative_to(target).as_posix()
        return f"{folder} is a Go package of yours ({rel}); gotasks needs {CONFIG}/ for its own"
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        label = path.relative_to(target).as_posix()
        try:
            # Checked as gotasks reads an env file (merged over nothing): an app's YAML
            # has keys gotasks does not know.
            validate(SPEC, load(path, label))
        except UsageError as error:
            why = str(error).split("; known keys", 1)[0]
            return (
                f"{folder} holds YAML that is not a gotasks env file ({why}); gotasks needs"
                f" {CONFIG}/ for its envs"
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
    from gotasks.go.git import GitError, toplevel

    try:
        return toplevel(target)
    except GitError:
        return None


def make_plan(target: Path, top: Path | None) -> Plan:
    """What init would do in `target`; reads, writes nothing. A UsageError when a copy-era
    loader the team edited stands in the way (removing gotasks' copies would break it)."""
    plan = Plan(copies=migrate.survey_copies(target))
    migrating = plan.copies.found
    unchanged = set(plan.copies.unchanged)
    wanted = {rel: template_text(rel) for rel in TEMPLATE_FILES}
    pre_commit = pre_commit_text(target, top)
    if pre_commit is not None:
        wanted[PRE_COMMIT] = pre_commit
    for rel, data in wanted.items():
        if migrating and rel.startswith(CONFIG + "/"):
            continue  # a copy-adopted repository's envs are its own now
        path = target / rel
        if not os.path.lexists(path):
            plan.writes[rel] = data
            continue
        _blocked(target, rel)
        current = _read(path)
        if current == data:
            continue
        if rel in unchanged:
            plan.replaces[rel] = data
        elif rel == "invoke.yaml" and _only_record_differs(current, data):
            record = versionrecord.recorded(target)
            plan.record_was = record[0] if record else None
            plan.replaces[rel] = data
        else:
            _refuse_edited_loader(rel, current, plan.copies, migrating)
            plan.kept.append(rel)
            plan.notes += _plumbing_note(rel, current)
    plan.removes = [rel for rel in plan.copies.unchanged if rel not in wanted]
    for folder in sorted({p for rel in plan.writes for p in Path(rel).parents if p != Path(".")}):
        # A file (or a dangling link) where gotasks needs a folder: nothing could go under it.
        where = target / folder
        if os.path.lexists(where) and not where.is_dir():
            raise UsageError(
                f"inv init: {where} is in the way: gotasks needs a folder {folder.as_posix()}/"
                " there"
            )
    plan.gitignore = missing_gitignore_lines(target / ".gitignore")
    return plan


def _blocked(target: Path, rel: str) -> None:
    if (target / rel).is_dir():
        raise UsageError(f"inv init: {target / rel} is a folder: gotasks needs a file {rel} there")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TaskFailed(f"inv init: cannot read: {describe(error)}") from None


def _only_record_differs(current: bytes, wanted: bytes) -> bool:
    """invoke.yaml is gotasks' own, set up by another release: only the record differs."""
    try:
        text = current.decode("utf-8")
    except UnicodeDecodeError:
        return False
    import gotasks

    return versionrecord.with_record(text, gotasks.__version__).encode() == wanted


def _refuse_edited_loader(
    rel: str, current: bytes, copies: migrate.CopyEra, migrating: bool
) -> None:
    """A copy-era tasks.py or invoke.yaml with the team's edits still loads gotasks from
    tasks/: removing the copies there would break it, and it is theirs to change."""
    if not migrating:
        return
    text = current.decode("utf-8", "replace")
    edited = next((e for e in copies.edited if e.path == rel), None)
    if rel == "tasks.py" and edited is not None:
        raise UsageError(
            f"inv init: tasks.py is gotasks' old loader with your edits (+{edited.added}"
            f" -{edited.removed} lines): move your tasks out of it (import gotasks; ns ="
            " gotasks.namespace(); ns.add_task(...)) or remove it, then rerun; nothing written"
        )
    if rel == "invoke.yaml" and "tasks.engine.executor" in text:
        number = 1 + text[: text.index("tasks.engine.executor")].count("\n")
        raise UsageError(
            f"inv init: invoke.yaml:{number}: tasks.engine.executor.GoTasksExecutor is the"
            " copied gotasks' executor: make it gotasks.engine.executor.Executor (or"
            " remove the file), then rerun; nothing written"
        )


def _plumbing_note(rel: str, current: bytes) -> list[str]:
    text = current.decode("utf-8", "replace")
    if rel == "tasks.py" and "gotasks" not in text:
        return [
            "note: your tasks.py does not load gotasks: add `import gotasks` and"
            " `ns = gotasks.namespace()` (then ns.add_task(...) for your own tasks)"
        ]
    if rel == "invoke.yaml" and "gotasks.engine.executor.Executor" not in text:
        return [
            "note: your invoke.yaml lacks gotasks' executor: add `tasks: {executor_class:"
            " gotasks.engine.executor.Executor}`, or --env will not reach pre tasks"
        ]
    return []


def missing_gitignore_lines(path: Path) -> list[str]:
    try:
        existing = path.read_bytes() if path.is_file() else b""
    except OSError as error:
        raise TaskFailed(f"inv init: cannot read: {describe(error)}") from None
    present = {line.strip() for line in existing.decode("utf-8", "replace").splitlines()}
    return [line for line in GITIGNORE_LINES if not _ignored(line, present)]


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


def already_line(target: Path, plan: Plan) -> str:
    """A rerun that has nothing to do: one line."""
    import gotasks

    if plan.kept and plan.notes:
        return f"inv init: nothing to change in {target}; " + "; ".join(
            n.removeprefix("note: ") for n in plan.notes
        )
    leftovers = plan.copies.leftovers()
    tail = (
        f" ({len(leftovers)} file(s) of yours kept in {migrate.COPIED_TREE}/ from the copy era)"
        if leftovers
        else ""
    )
    return (
        f"inv init: gotasks {gotasks.__version__} is already set up in {target};"
        f" nothing changed{tail}"
    )


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


def report(plan: Plan, dry: bool) -> str:
    """What was (or would be) written, replaced, removed and kept."""

    def verb(past: str, future: str) -> str:
        return future if dry else past

    written = _listing(list(plan.writes), list(TEMPLATE_FILES)) or "nothing"
    lines = [f"{verb('written', 'would write')}: {written}"]
    if plan.replaces:
        what = [
            f"invoke.yaml (records gotasks {_version()}, was {plan.record_was})"
            if rel == "invoke.yaml" and plan.record_was
            else f"{rel} (gotasks' copy, unchanged)"
            for rel in plan.replaces
        ]
        lines.append(f"{verb('replaced', 'would replace')}: {', '.join(what)}")
    if plan.removes:
        lines.append(
            f"{verb('removed', 'would remove')}: {_listing(plan.removes)}: gotasks' copied files,"
            " unchanged (gotasks runs from its install now)"
        )
    if plan.copies.found:
        lines += [edited.summary() for edited in plan.copies.edited]
        lines += [
            f"{rel}: yours, kept (not a gotasks file; the thin tasks.py does not import it:"
            " do so to keep using it)"
            for rel in plan.copies.foreign
        ]
        if plan.copies.edited:
            lines.append(
                "note: the copies you edited are kept but no longer run: port the changes to"
                " tasks of your own in tasks.py"
            )
    if plan.gitignore:
        lines.append(f".gitignore: {verb('added', 'would add')} {', '.join(plan.gitignore)}")
    if plan.kept:
        lines.append(f"skipped (yours, kept): {', '.join(plan.kept)}")
    lines += plan.notes
    return "\n".join(lines)


def _version() -> str:
    import gotasks

    return gotasks.__version__


def _listing(paths: list[str], trees: list[str] | None = None) -> str:
    """Paths in order; a folder whose every file is in `paths` (of `trees`, when given: the
    files that folder would have) shows as `config/ (4 files)`."""
    by_top: dict[str, list[str]] = {}
    for rel in trees if trees is not None else paths:
        if "/" in rel:
            by_top.setdefault(rel.split("/", 1)[0], []).append(rel)
    chosen = set(paths)
    whole = {top for top, files in by_top.items() if chosen.issuperset(files)}
    parts: list[str] = []
    for rel in paths:
        top = rel.split("/", 1)[0]
        if "/" in rel and top in whole:
            summary = f"{top}/ ({len(by_top[top])} files)"
            if summary not in parts:
                parts.append(summary)
        else:
            parts.append(rel)
    return ", ".join(parts)


def next_steps(target: Path, top: Path | None, plan: Plan, found: survey.Survey) -> str:
    """The commands that make the repository work on a fresh machine, in order."""
    from gotasks import installsource

    lines = [
        "next steps (on a fresh machine, in this order):",
        f"  cd {target}",
        "  python3 -m venv .venv && . .venv/bin/activate",
        f"  python3 -m pip install {_shell_word(installsource.requirement())}"
        "   # gotasks, from where this one came",
        "  python3 -m pip install pre-commit",
    ]
    if top is not None and top != target:
        lines.append(
            f"  inv hooks.install    # not pre-commit: its hook runs from {top}, the"
            " repository's top, and gotasks' project is not there"
        )
    elif top is not None:
        lines.append("  pre-commit install   # the hook in .pre-commit-config.yaml")
    lines += [f"  {step}" for step in survey.config_steps(found)]
    lines.append("  inv ci")
    return "\n".join(lines)


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def main(argv: list[str] | None = None) -> int:
    """`python3 -m gotasks.adopt [--dry-run] [--fix-ignore] PATH`: init from the installed
    gotasks where `inv init` cannot run it: in a copy-adopted repository, `inv` and
    `gotasks` load the repository's tasks.py, which loads the old copy."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python3 -m gotasks.adopt", description=init.__doc__)
    parser.add_argument("path")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--fix-ignore", action="store_true")
    args = parser.parse_args(argv)
    try:
        set_up(args.path, args.dry_run, args.fix_ignore)
    except Failure as error:
        print(error, file=sys.stderr, flush=True)
        return error.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
