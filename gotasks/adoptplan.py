"""What `inv init` would do to a repository, worked out before anything is touched: the
files it writes (from templates/), the copies of gotasks it replaces or removes, the user's
files it keeps, the lines .gitignore lacks. gotasks/adoptwrite.py carries the plan out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gotasks import migrate, versionrecord
from gotasks.core.errors import TaskFailed, UsageError, describe

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
