"""`inv lint --staged`, the pre-commit hook's mode: gofmt on the staged content of the staged
.go files, go vet and golangci-lint on their packages, the tidiness check when go.mod or
go.sum is staged. It changes nothing, and git is asked once per run."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from gotasks.context import go, module_header, modules_of, run_tool, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.engine.run import run_state
from gotasks.engine.threads import map_in_task
from gotasks.lintchecks import golangci_lint, refused_names, tidy

if TYPE_CHECKING:
    from gotasks.go.gofmt import Verdict
    from gotasks.go.modules import Module
    from gotasks.go.staged import ModuleChanges

# A `file:line` at the start of a line of go vet or gofmt output (vet puts "vet: " before a
# type error); the path as the tool printed it, relative to where it ran.
_LOCATED = re.compile(r"^(?P<pre>vet: )?(?P<path>[^\s:][^:]*\.go):(?P<rest>\d+.*)$")
_EXCLUDED = re.compile(r"build constraints exclude all Go files in (?P<dir>.+)$", re.MULTILINE)


@dataclass
class _Staged:
    """What git has staged for the project, asked once per run."""

    root: Path
    top: Path | None = None
    error: str | None = None
    changes: dict[str, ModuleChanges] = field(default_factory=dict)
    unstaged: set[str] = field(default_factory=set)  # staged .go files changed again since


class _StagedRun:
    """What --staged works out once per run: the fan-out calls lint once per module, side
    by side, so git is asked once, and a line every module's task would print (a usage
    error, "nothing staged") comes once.

    One per run (RunState.shared): the run's tasks share it, the next run starts afresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: _Staged | None = None
        self.said: set[str] = set()

    def first_time(self, what: str) -> bool:
        with self.lock:
            if what in self.said:
                return False
            self.said.add(what)
            return True


def _staged_run(config: Config) -> _StagedRun:
    return run_state(config).shared(_StagedRun)


def lint_staged(c: Context, fix: bool, mod: Module) -> None:
    """gofmt on the staged content of the module's staged .go files, go vet (and
    golangci-lint) on their packages, the tidiness check when go.mod/go.sum is staged.

    Changes nothing; does nothing at all for a module with nothing staged.
    """
    run = _staged_run(c.config)
    if fix:
        message = (
            "lint: --staged checks what a commit would record and changes nothing;"
            " run `inv lint --fix` without it"
        )
        if run.first_time(message):
            raise UsageError(message)
        return
    state = _staged_state(c, run)
    if state.error is not None:
        if run.first_time(state.error):
            raise UsageError(state.error)
        return
    if not state.changes:
        if run.first_time("no staged Go files"):
            console.info("lint --staged: no staged Go files")
        return
    changes = state.changes.get(mod.rel)
    if changes is None:
        return
    module_header(c, "lint --staged", mod)
    config = settings_of(c.config).section("lint")
    # The slow part of a hook is go starting: gofmt's and vet's commands run side by side
    # (each in the task's process groups), and their verdicts are printed in the order
    # they always were, so the output is the same as when they ran one after the other.
    gofmt_run: _GofmtRun | None = None
    vet_run: _VetRun | None = None
    jobs: list[Callable[[], object]] = []
    if config["gofmt"] and changes.go_files:
        jobs.append(lambda: _run_gofmt(c, state, changes.go_files))
    if config["vet"] and changes.packages:
        jobs.append(lambda: _run_vet(c, changes))
    mode, args = config["golangci_lint"], config["golangci_lint_args"]
    tools: _Tools | None = None
    if changes.packages and mode != "off":
        jobs.append(lambda: _ask_tools(c, mod))  # golangci-lint as a go.mod tool?
    for done in map_in_task(lambda job: job(), jobs, len(jobs)):
        if isinstance(done, _GofmtRun):
            gofmt_run = done
        elif isinstance(done, _VetRun):
            vet_run = done
        elif isinstance(done, _Tools):
            tools = done
    problems = 0
    if gofmt_run is not None:
        problems += _report_gofmt(state, changes.go_files, gofmt_run)
    if config["tidy"] and changes.mod_files:
        problems += len(tidy(c, mod, fix=False))
    if vet_run is not None:
        problems += _report_vet(state, changes, vet_run)
    if changes.packages:
        declared = tools.declared if tools is not None else None
        problems += len(golangci_lint(c, mod, mode, args, tuple(changes.packages), declared))
    if problems:
        where = "" if len(modules_of(c.config)) == 1 else f" ({mod.label})"
        noun = "problem" if problems == 1 else "problems"
        raise TaskFailed(f"lint --staged{where}: {problems} {noun} in staged files; commit refused")


def _staged_state(c: Context, run: _StagedRun) -> _Staged:
    with run.lock:
        if run.state is None:
            run.state = _ask_git(settings_of(c.config).root, modules_of(c.config))
        return run.state


def _ask_git(root: Path, modules: list[Module]) -> _Staged:
    from gotasks.go.git import GitError, toplevel
    from gotasks.go.staged import by_module, staged_files, unstaged

    state = _Staged(root)
    try:
        top = toplevel(root)
        if top is None:
            state.error = f"lint --staged: {root} is not in a git repository"
            return state
        state.top = top
        state.changes = by_module(staged_files(top), top, modules)
        go_paths = [path for changes in state.changes.values() for path in changes.go_files]
        state.unstaged = unstaged(top, go_paths) if go_paths else set()
    except GitError as error:
        state.error = f"lint --staged: {error}"
    return state


def _shown(state: _Staged, path: Path) -> str:
    """A path as the output names it: relative to the project root."""
    return os.path.relpath(path, state.root)


def _relocated(state: _Staged, line: str, base: Path) -> tuple[str, bool]:
    """A tool's `file:line: ...` line with the file relative to the project root (the tool
    named it relative to `base`), and whether it was one."""
    match = _LOCATED.match(line)
    if match is None:
        return line, False
    path = Path(match.group("path"))
    full = path if path.is_absolute() else base / path
    return f"{match.group('pre') or ''}{_shown(state, full)}:{match.group('rest')}", True


@dataclass
class _Tools:
    """The tools a module's go.mod declares, or what asking go raised (raised when
    golangci-lint's turn comes, after the verdicts before it)."""

    tools: list[str]
    error: UsageError | None = None

    def declared(self) -> list[str]:
        if self.error is not None:
            raise self.error
        return self.tools


def _ask_tools(c: Context, mod: Module) -> _Tools:
    from gotasks.go.gotools import declared_tools

    toolchain, _ = toolchain_of(c.config)
    try:
        return _Tools(declared_tools(toolchain.go, mod.dir, c.config.run.env))
    except UsageError as error:
        return _Tools([], error)


@dataclass
class _GofmtRun:
    """What gofmt said of the staged copies: its verdict and, for each file it would
    change, the first line it would change."""

    verdict: Verdict
    first_lines: dict[str, int]


def _run_gofmt(c: Context, state: _Staged, files: list[str]) -> _GofmtRun:
    """gofmt on what is staged, not on the work tree: the staged copies go to a temp folder
    outside the repo, under the same relative paths."""
    from gotasks.go.gofmt import first_changed_line, judge
    from gotasks.go.staged import checkout_staged

    assert state.top is not None
    toolchain, _ = toolchain_of(c.config)
    first_lines: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="gotasks-staged-") as tmp:
        checkout_staged(state.top, files, Path(tmp))

        def gofmt(args: list[str]) -> Result:
            return run_tool(c, [str(toolchain.gofmt), *args], Path(tmp))

        verdict = judge(gofmt, files)
        for name in verdict.unformatted:
            first_lines[name] = first_changed_line(gofmt(["-d", "--", name]).stdout, name)
    return _GofmtRun(verdict, first_lines)


def _report_gofmt(state: _Staged, files: list[str], run: _GofmtRun) -> int:
    from gotasks.go.sources import shown_path

    assert state.top is not None
    top = state.top
    problems = refused_names(files, lambda name: _shown(state, top / name))
    for name, line in run.first_lines.items():
        shown = shown_path(_shown(state, top / name))
        console.info(f"{shown}:{line}: not gofmt-formatted (inv lint --fix)")
        problems += 1
    located = 0
    for error in run.verdict.errors:  # a file gofmt cannot parse: `file:line:col: what`
        relocated, found = _relocated(state, error, top)
        located += found
        console.info(relocated)
    problems += max(located, 1) if run.verdict.errors else 0
    if not problems:
        count = len(files)
        console.ok(f"gofmt ({count} staged file{'' if count == 1 else 's'})")
    return problems


@dataclass
class _VetRun:
    """go vet's answer on the staged files' packages, and the packages it left out."""

    result: Result | None  # None: every package was left out
    packages: list[str]
    excluded: set[str]


def _run_vet(c: Context, changes: ModuleChanges) -> _VetRun:
    """go vet on the staged files' packages; vet reads the work tree, so a staged file with
    unstaged changes is vetted as it is on disk (pre-commit's framework stashes those)."""
    mod = changes.module
    packages = list(changes.packages)
    result = go(c, ["vet", *packages], mod.dir)
    # vet gives up on every package when one has no file for this build (a `//go:build
    # ignore` generator alone in its folder); `inv lint`'s ./... skips such a package.
    excluded = {
        _package(mod, Path(match.group("dir").strip()))
        for match in _EXCLUDED.finditer(result.stdout + result.stderr)
    } & set(packages)
    if excluded:
        packages = [package for package in packages if package not in excluded]
        if not packages:
            return _VetRun(None, packages, excluded)
        result = go(c, ["vet", *packages], mod.dir)
    return _VetRun(result, packages, excluded)


def _report_vet(state: _Staged, changes: ModuleChanges, run: _VetRun) -> int:
    assert state.top is not None
    also_changed = [path for path in changes.go_files if path in state.unstaged]
    if also_changed:
        names = ", ".join(_shown(state, state.top / path) for path in also_changed)
        console.warn(f"{names}: changed again since staged; go vet sees the work tree's copy")
    for package in sorted(run.excluded):
        console.info(f"skip go vet {package}: build constraints exclude all its Go files")
    if run.result is None:
        return 0
    what = "go vet " + " ".join(run.packages)
    if run.result.exited == 0:
        console.ok(what)
        return 0
    console.fail(what + ":")
    located = 0
    for line in (run.result.stdout + run.result.stderr).rstrip().splitlines():
        shown, found = _relocated(state, line, changes.module.dir)
        located += found
        console.info(shown)
    return max(located, 1)


def _package(mod: Module, folder: Path) -> str:
    rel = Path(os.path.relpath(folder, mod.dir)).as_posix()
    return "." if rel == "." else f"./{rel}"
