"""`inv lint`: gofmt, go vet, go.mod tidiness and golangci-lint on every module; with
--staged (hook mode), on the files a commit would record only."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from gotasks import fresh
from gotasks.context import (
    go,
    module_header,
    module_of,
    modules_of,
    run_tool,
    settings_of,
    toolchain_of,
)
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.engine import task
from gotasks.engine.run import RunOptions

if TYPE_CHECKING:
    from gotasks.engine.freshness import UpToDate
    from gotasks.go.modules import Module
    from gotasks.go.staged import ModuleChanges


@task(
    dry=True,
    cpu=1,
    mem="1G",
    pool="lint",
    each="module",
    help={
        "fix": "format with gofmt -w and run go mod tidy instead of failing on them",
        "module": "only this module (its folder or module path); default: every module",
        "staged": "hook mode: only the files git has staged and their packages; changes"
        " nothing (see inv hooks.install)",
    },
)
def lint(
    c: Context, fix: bool = False, module: str | None = None, staged: bool = False
) -> UpToDate | None:
    """Check formatting (gofmt), go vet, go.mod/go.sum tidiness and golangci-lint."""
    assert module is not None
    if staged:
        _lint_staged(c, fix, module_of(c, module))
        return None
    mod = module_of(c, module)
    config = settings_of(c.config).section("lint")
    # --fix changes files: it always runs (and a check after it starts from what it wrote).
    check = fresh.start(
        c,
        "lint",
        mod,
        {"fix": fix},
        lambda: {"golangci-lint": _golangci_inputs(c, mod, config["golangci_lint"])},
        enabled=not fix,
    )
    if check.result is not None:
        return check.result
    problems: list[str] = []
    if config["gofmt"]:
        problems += _gofmt(c, mod, fix)
    # tidy before vet: with --fix, a new import's requirement is added before vet needs it
    if config["tidy"]:
        problems += _tidy(c, mod, fix)
    if config["vet"]:
        problems += _vet(c, mod)
    problems += _golangci_lint(c, mod, config["golangci_lint"], config["golangci_lint_args"])
    if problems:
        raise TaskFailed(f"lint {mod.label}: " + "; ".join(problems))
    check.done()
    return None


def _golangci_inputs(c: Context, mod: Module, mode: str) -> dict[str, str]:
    """golangci-lint's part of lint's key: the one on PATH (path and digest; a go.mod tool
    is pinned by go.mod, which the module's files cover) and its config file, or absent."""
    from gotasks.fresh import fresh_cache, tool_digest
    from gotasks.go.gotools import golangci_config

    if mode == "off":
        return {"mode": "off"}
    config = golangci_config(mod.dir, settings_of(c.config).root)
    return {
        "mode": mode,
        "on PATH": tool_digest(shutil.which("golangci-lint"), fresh_cache(c)),
        "config": tool_digest(str(config) if config else None, fresh_cache(c)),
    }


@task(
    cpu=1,
    mem="512M",
    pool="lint",
    each="module",
    help={"module": "only this module (its folder or module path); default: every module"},
)
def fmt(c: Context, module: str | None = None) -> None:
    """Format every Go file of the module with gofmt -w (the formatting half of lint --fix)."""
    assert module is not None
    mod = module_of(c, module)
    module_header(c, "fmt", mod)
    problems = _gofmt(c, mod, fix=True)
    if problems:
        raise TaskFailed(f"fmt {mod.label}: " + "; ".join(problems))


def _gofmt(c: Context, mod: Module, fix: bool) -> list[str]:
    from gotasks.go.gofmt import judge
    from gotasks.go.sources import go_files, shown_path
    from gotasks.go.staged import batches

    toolchain, _ = toolchain_of(c.config)
    files = go_files(mod.dir)
    if not files:
        return []
    refused = _refused_names(files, lambda name: f"{mod.rel}/{name}")
    problems = [f"{refused} file name(s) go refuses"] if refused else []

    def gofmt(args: list[str]) -> Result:
        return run_tool(c, [str(toolchain.gofmt), *args], mod.dir)

    verdict = judge(gofmt, files)
    if verdict.errors:
        console.fail("gofmt could not parse:")
        console.info("\n".join(verdict.errors))
        return [*problems, "gofmt failed"]
    unformatted = verdict.unformatted
    if not unformatted:
        console.ok(f"gofmt ({len(files)} files)")
        return problems
    if fix:
        # The names as found on disk, never as parsed back from gofmt's output.
        for batch in batches(unformatted):
            written = gofmt(["-w", "--", *batch])
            if written.exited != 0:
                console.fail("gofmt -w:")
                console.info(written.stderr.rstrip())
                return [*problems, "gofmt -w failed"]
        console.ok("gofmt -w: formatted " + ", ".join(shown_path(name) for name in unformatted))
        return problems
    console.fail("gofmt: not formatted (run `inv lint --fix`):")
    for name in unformatted:
        console.info(f"  {shown_path(f'{mod.rel}/{name}')}")
    return [*problems, f"{len(unformatted)} file(s) not gofmt-ed"]


def _refused_names(files: list[str], shown: Callable[[str], str]) -> int:
    """A line for each file whose name go itself refuses (go build and vet fail on its
    package): gofmt judges it all the same, but no fix of ours can rename it."""
    from gotasks.go.sources import go_refuses, shown_path

    refused = 0
    for name in files:
        why = go_refuses(name)
        if why is not None:
            console.info(f"{shown_path(shown(name), quote=True)}: {why}; rename it")
            refused += 1
    return refused


def _verdict(result: Result, passed: str, failed: str, problem: str) -> list[str]:
    """One check's outcome: an ok line, or its header and the tool's own output."""
    if result.exited == 0:
        console.ok(passed)
        return []
    console.fail(failed)
    console.info((result.stdout + result.stderr).rstrip())
    return [problem]


def _vet(c: Context, mod: Module) -> list[str]:
    result = go(c, ["vet", "./..."], mod.dir)
    return _verdict(result, "go vet", f"go vet (paths under {mod.rel}/):", "go vet found problems")


def _tidy(c: Context, mod: Module, fix: bool) -> list[str]:
    from gotasks.go.version import GoVersion

    if fix:
        result = go(c, ["mod", "tidy"], mod.dir)
        return _verdict(result, "go mod tidy", "go mod tidy:", "go mod tidy failed")
    toolchain, _ = toolchain_of(c.config)
    if toolchain.version < GoVersion.parse("1.23"):
        console.warn("go.mod tidiness not checked: `go mod tidy -diff` needs Go 1.23 or later")
        return []
    # -diff prints what tidy would change and exits 1, without touching go.mod or go.sum.
    result = go(c, ["mod", "tidy", "-diff"], mod.dir)
    if result.exited != 0 and not result.stdout.strip():
        # no diff printed: tidy itself failed (a go line newer than the toolchain, ...)
        return _verdict(result, "", "go mod tidy -diff failed:", "go mod tidy -diff failed")
    return _verdict(
        result,
        "go.mod/go.sum tidy",
        "go.mod/go.sum are not tidy (run `inv lint --fix`):",
        "go.mod/go.sum not tidy",
    )


def _golangci_lint(
    c: Context, mod: Module, mode: str, args: list[str], packages: tuple[str, ...] = ("./...",)
) -> list[str]:
    from gotasks.go.gotools import add_hint, declared_tools, golangci_config, resolve_tool

    if mode == "off":
        return []
    toolchain, _ = toolchain_of(c.config)
    declared = declared_tools(toolchain.go, mod.dir, c.config.run.env)
    tool = resolve_tool("golangci-lint", declared, toolchain.go)
    if tool is None:
        fix = add_hint("golangci-lint")
        if mode == "required":
            console.fail("golangci-lint: neither a go.mod tool nor on PATH")
            return [f"golangci-lint is required by lint.golangci_lint but not installed ({fix})"]
        config = golangci_config(mod.dir, settings_of(c.config).root)
        if config is not None:
            # The project asked for golangci-lint: its absence is news, not a quiet skip.
            shown = os.path.relpath(config, settings_of(c.config).root)
            console.warn(
                f"golangci-lint not run: {shown} configures it, but it is neither"
                f" a go.mod tool nor on PATH ({fix})"
            )
            return []
        console.info("skip golangci-lint (not on PATH; lint.golangci_lint: auto)")
        return []
    result = run_tool(c, [*tool.argv, "run", *args, *packages], mod.dir)
    what = "golangci-lint" + (" (go tool)" if tool.argv[1:2] == ("tool",) else "")
    return _verdict(result, what, f"{what}:", "golangci-lint found problems")


# -- hook mode (--staged) -------------------------------------------------------------------

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

    It lives on the run's config. Each task gets a clone of that config, and a clone copies
    every value with copy.copy: this object gives itself back, so the run's tasks share it,
    and the next run (a new config) starts afresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: _Staged | None = None
        self.said: set[str] = set()

    def __copy__(self) -> _StagedRun:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _StagedRun:
        return self

    def first_time(self, what: str) -> bool:
        with self.lock:
            if what in self.said:
                return False
            self.said.add(what)
            return True


def new_staged_run(config: Config, options: RunOptions) -> None:
    """Before the run's tasks get their clones of the config: one _StagedRun for all."""
    config.gotasks_staged = _StagedRun()


def _staged_run(config: Config) -> _StagedRun:
    run = config.get("gotasks_staged")
    if not isinstance(run, _StagedRun):
        # Not prepared (lint's body called some other way): this config's own.
        run = config.gotasks_staged = _StagedRun()
    return run


def _lint_staged(c: Context, fix: bool, mod: Module) -> None:
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
    problems = 0
    if config["gofmt"] and changes.go_files:
        problems += _staged_gofmt(c, state, changes.go_files)
    if config["tidy"] and changes.mod_files:
        problems += len(_tidy(c, mod, fix=False))
    if config["vet"] and changes.packages:
        problems += _staged_vet(c, state, changes)
    if changes.packages:
        mode, args = config["golangci_lint"], config["golangci_lint_args"]
        problems += len(_golangci_lint(c, mod, mode, args, tuple(changes.packages)))
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


def _staged_gofmt(c: Context, state: _Staged, files: list[str]) -> int:
    """gofmt on what is staged, not on the work tree: the staged copies go to a temp folder
    outside the repo, under the same relative paths."""
    from gotasks.go.gofmt import first_changed_line, judge
    from gotasks.go.sources import shown_path
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
    top = state.top
    problems = _refused_names(files, lambda name: _shown(state, top / name))
    for name, line in first_lines.items():
        shown = shown_path(_shown(state, top / name))
        console.info(f"{shown}:{line}: not gofmt-formatted (inv lint --fix)")
        problems += 1
    located = 0
    for error in verdict.errors:  # a file gofmt cannot parse: `file:line:col: what`
        relocated, found = _relocated(state, error, state.top)
        located += found
        console.info(relocated)
    problems += max(located, 1) if verdict.errors else 0
    if not problems:
        count = len(files)
        console.ok(f"gofmt ({count} staged file{'' if count == 1 else 's'})")
    return problems


def _staged_vet(c: Context, state: _Staged, changes: ModuleChanges) -> int:
    """go vet on the staged files' packages; vet reads the work tree, so a staged file with
    unstaged changes is vetted as it is on disk (pre-commit's framework stashes those)."""
    assert state.top is not None
    mod = changes.module
    also_changed = [path for path in changes.go_files if path in state.unstaged]
    if also_changed:
        names = ", ".join(_shown(state, state.top / path) for path in also_changed)
        console.warn(f"{names}: changed again since staged; go vet sees the work tree's copy")
    packages = list(changes.packages)
    result = go(c, ["vet", *packages], mod.dir)
    # vet gives up on every package when one has no file for this build (a `//go:build
    # ignore` generator alone in its folder); `inv lint`'s ./... skips such a package.
    excluded = {
        _package(mod, Path(match.group("dir").strip()))
        for match in _EXCLUDED.finditer(result.stdout + result.stderr)
    } & set(packages)
    if excluded:
        for package in sorted(excluded):
            console.info(f"skip go vet {package}: build constraints exclude all its Go files")
        packages = [package for package in packages if package not in excluded]
        if not packages:
            return 0
        result = go(c, ["vet", *packages], mod.dir)
    what = "go vet " + " ".join(packages)
    if result.exited == 0:
        console.ok(what)
        return 0
    console.fail(what + ":")
    located = 0
    for line in (result.stdout + result.stderr).rstrip().splitlines():
        shown, found = _relocated(state, line, mod.dir)
        located += found
        console.info(shown)
    return max(located, 1)


def _package(mod: Module, folder: Path) -> str:
    rel = Path(os.path.relpath(folder, mod.dir)).as_posix()
    return "." if rel == "." else f"./{rel}"
