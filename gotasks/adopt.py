"""`inv init PATH`: a Go repository set up to use the installed gotasks (a thin tasks.py,
invoke.yaml, config/, the pre-commit config), or migrated from gotasks copied into it.

Nothing of the user's is overwritten; gotasks' own copies (a copy-adopted repository's
tasks/ files, unchanged) are removed; a run that fails half-way takes back what it did.
This module is the command (where, what it says before and after); the plan is
gotasks/adoptplan.py, carrying it out gotasks/adoptwrite.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.core.errors import Failure, UsageError
from gotasks.engine import task

if TYPE_CHECKING:
    from gotasks.adoptplan import Plan
    from gotasks.survey import Survey


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
    # Loaded here, not with the namespace: `inv --list` does not pay for init's code.
    import gotasks
    from gotasks import ignorecheck, survey
    from gotasks.adoptplan import make_plan
    from gotasks.adoptwrite import apply

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
    from gotasks.adoptplan import CONFIG
    from gotasks.configspec import SPEC
    from gotasks.core.schema import validate
    from gotasks.core.yamlconf import load

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


def already_line(target: Path, plan: Plan) -> str:
    """A rerun that has nothing to do: one line."""
    import gotasks
    from gotasks import migrate

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


def report(plan: Plan, dry: bool) -> str:
    """What was (or would be) written, replaced, removed and kept."""

    from gotasks.adoptplan import TEMPLATE_FILES

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


def next_steps(target: Path, top: Path | None, plan: Plan, found: Survey) -> str:
    """The commands that make the repository work on a fresh machine, in order."""
    from gotasks import installsource, survey

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
