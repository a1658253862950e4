"""`inv doctor`: is this machine and this project ready? One line per finding."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.context import Context

from gotasks.context import choose_toolchain, selection_of, user_values
from gotasks.core.console import paint
from gotasks.core.errors import Failure, TaskFailed
from gotasks.core.units import format_bytes
from gotasks.doctorproxy import Finding, proxy_findings, read_lines
from gotasks.engine import task
from gotasks.paths import project_root

if TYPE_CHECKING:
    from gotasks.go.toolchain import Toolchain
    from gotasks.settings import LoadEnv, Settings

_MARK = {"ok": ("ok  ", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red")}
_GO_LINE = re.compile(r"^go\s+(\S+)\s*(//.*)?$")


@task(needs=(), diagnoses=True, cpu=0.5, mem="256M", dry=True)  # reads, writes nothing
def doctor(c: Context, env: str | None = None, go: str | None = None) -> None:
    """Check go, git, config, proxy settings, CPU and memory, and SDK installs."""
    root = project_root()
    failures = 0
    for status, text in _findings(root, env, go):
        word, color = _MARK[status]
        print(f"{paint(word, color)} {text}", flush=True)
        failures += status == "fail"
    if failures:
        raise TaskFailed(f"doctor: {failures} check{'s' if failures > 1 else ''} failed")


def _findings(root: Path, env: str | None, go: str | None) -> Iterator[Finding]:
    from gotasks.envs import known_envs
    from gotasks.settings import load_settings

    settings: Settings | None = None
    environ = user_values()
    # Each env read once: load_settings checks every env's files, and the proxy check
    # reads each env's settings again (YAML parsing was most of doctor's CPU time).
    loaded: dict[str, Settings] = {}

    def load_once(name: str, load: LoadEnv) -> Settings:
        if name not in loaded:
            loaded[name] = load(environ)
        return loaded[name]

    try:
        settings = load_settings(root, env, environ, load_once)
        envs = ", ".join(known_envs(root))
        yield (
            "ok",
            f"config: env {settings.env} ({', '.join(settings.files)}); every env valid ({envs})",
        )
    except Failure as error:
        yield "fail", f"config: {error}"
    # Without valid settings the rest is still checked, as far as it can be: the go on PATH,
    # the machine's capacity before any config override.
    toolchain, found = _go(settings, go)
    yield from found
    if settings is not None:
        yield from _go_lines(settings, toolchain)
        yield from _tools(settings, toolchain)
    yield from proxy_findings(root, environ, toolchain, load_once)
    yield from _git(root)
    yield from _installed_version(root)
    yield from _config_in_git(root)
    yield from _capacity(settings)
    if settings is not None:
        yield from _sdks(settings)


def _go(settings: Settings | None, flag: str | None) -> tuple[Toolchain | None, list[Finding]]:
    from gotasks.go.toolchain import find_toolchain

    selection = None
    try:
        if settings is None:
            toolchain = find_toolchain()
        else:
            selection = selection_of(settings, flag)
            toolchain = choose_toolchain(settings, selection, install=False)
    except Failure as error:
        return None, [("fail", f"go: {error}")]
    why = f"asked for by {selection.origin}" if selection else "the go on PATH"
    found = [("ok", f"go: {toolchain.version_text} at {toolchain.go} ({why})")]
    exported = os.environ.get("GOROOT")
    if exported and Path(exported).resolve() != toolchain.goroot.resolve():
        found.append(
            (
                "warn",
                f"GOROOT={exported} in your environment is not this go's ({toolchain.goroot}):"
                " gotasks sets the right one for its runs, but go in your shell will mix them",
            )
        )
    return toolchain, found


def _go_lines(settings: Settings, toolchain: Toolchain | None) -> Iterator[Finding]:
    """Every module's `go` line against the go that will build it (GOTOOLCHAIN=local: go
    will not fetch a newer one)."""
    from gotasks.go.modules import discover
    from gotasks.go.version import GoVersion, VersionError

    if toolchain is None:
        return
    try:
        modules = discover(settings.root, settings.modules)
    except Failure as error:
        yield "fail", f"modules: {error}"
        return
    too_new = []
    for mod in modules:
        gomod = mod.dir / "go.mod"
        for number, line in enumerate(read_lines(gomod), 1):
            match = _GO_LINE.match(line.strip())
            if not match:
                continue
            try:
                wanted = GoVersion.parse(match.group(1))
            except VersionError:
                yield "fail", f"{mod.rel}/go.mod:{number}: cannot read the go line {line!r}"
                break
            if toolchain.version < wanted:
                too_new.append(f"{mod.rel}/go.mod:{number} asks for go {wanted}")
            break
    if too_new:
        yield "fail", f"go: {toolchain.version_text} is too old: " + "; ".join(too_new)
    elif modules:
        yield "ok", f"modules: {len(modules)}, every go line within {toolchain.version_text}"
    else:
        yield "warn", f"modules: no go.mod found under {settings.root}"


def _tools(settings: Settings, toolchain: Toolchain | None) -> Iterator[Finding]:
    """golangci-lint, where a module's .golangci.yml asks for it: a go.mod tool or PATH."""
    from gotasks.go.gotools import add_hint, declared_tools, golangci_config, resolve_tool
    from gotasks.go.modules import discover

    mode = settings.section("lint")["golangci_lint"]
    if toolchain is None or mode == "off":
        return
    try:
        modules = discover(settings.root, settings.modules)
    except Failure:
        return  # the modules check names it
    env = {**settings.go_env, "GOTOOLCHAIN": "local"}
    for mod in modules:
        config = golangci_config(mod.dir, settings.root)
        if config is None and mode != "required":
            continue
        try:
            declared = declared_tools(toolchain.go, mod.dir, env)
        except Failure as error:
            yield "fail", f"tools: {error}"
            continue
        tool = resolve_tool("golangci-lint", declared, toolchain.go)
        why = (
            f"{os.path.relpath(config, settings.root)} configures it"
            if config is not None
            else "lint.golangci_lint: required"
        )
        if tool is None:
            status = "fail" if mode == "required" else "warn"
            yield (
                status,
                f"tools: {mod.rel}: {why}, but golangci-lint is neither a go.mod tool nor on"
                f" PATH; fix: {add_hint('golangci-lint')}",
            )
        else:
            yield "ok", f"tools: {mod.rel}: golangci-lint from {tool.origin}"


def _git(root: Path) -> Iterator[Finding]:
    from gotasks.go.git import GitError, toplevel

    if shutil.which("git") is None:
        yield "fail", "git: not found on PATH (builds read the commit from git)"
        return
    try:
        top = toplevel(root)
    except GitError as error:  # the dubious-ownership refusal comes with its fix
        yield "fail", f"git: {error}"
        return
    if top is None:
        yield "warn", f"git: {root} is not in a git repository: builds stamp version 'unknown'"
    else:
        yield "ok", f"git: repository at {top}"


def _installed_version(root: Path) -> Iterator[Finding]:
    """The installed gotasks against the release invoke.yaml records (inv init wrote it)."""
    from gotasks import __version__ as installed
    from gotasks import installsource, versionrecord

    record = versionrecord.recorded(root)
    if record is None:
        yield (
            "warn",
            f"gotasks: {versionrecord.RECORD_FILE} records no gotasks version; `inv init .`"
            f" records {installed} (commit it: teammates' doctor then compares)",
        )
        return
    recorded, line = record
    where = f"{versionrecord.RECORD_FILE}:{line}"
    order = versionrecord.comparison(installed, recorded)
    if order == 0:
        yield "ok", f"gotasks: {installed}, as {where} records"
    elif order < 0:
        yield (
            "warn",
            f"gotasks: installed {installed} is older than the {recorded} this repository was"
            f" set up with ({where}); upgrade:"
            f" {upgrade_command(installsource.running(), recorded)}",
        )
    else:
        yield (
            "warn",
            f"gotasks: installed {installed} is newer than the {recorded} this repository was"
            f" set up with ({where}); record it: inv init . (then commit {where.split(':')[0]})",
        )


def upgrade_command(source: Any, wanted: str) -> str:
    """How to get gotasks `wanted` (or later) from where the running one came."""
    kind, requirement = source.kind, source.requirement
    if kind in ("editable", "checkout"):
        return f"git -C {requirement} pull (the install runs that folder)"
    if kind == "index":
        return f"python3 -m pip install -U 'gotasks>={wanted}'"
    if kind == "vcs":
        requirement = requirement.rsplit("@", 1)[0]  # not the commit installed before
    return f"python3 -m pip install -U '{requirement}'"


def _config_in_git(root: Path) -> Iterator[Finding]:
    """Env files git would leave out of a commit (an ignore rule hides them) or has not
    been given: a teammate's clone would not have those envs."""
    from gotasks import ignorecheck
    from gotasks.envs import config_dir
    from gotasks.go.git import GitError, toplevel

    try:
        if toplevel(root) is None:
            return
    except GitError:
        return  # the git check names it
    folder = config_dir(root)
    on_disk = sorted(p.relative_to(root).as_posix() for p in folder.glob("*.yaml"))
    try:
        hidden = ignorecheck.hidden(root, on_disk)
    except Failure as error:
        yield "warn", f"config: {error}"
        return
    for item in hidden:
        yield (
            "fail",
            f"config: {item.text()}: git leaves it out of every commit, so a teammate's clone"
            f" has no env {Path(item.path).stem}; fix: add {ignorecheck.fix_lines([item])[-1]}"
            " to .gitignore",
        )
    tracked = ignorecheck.tracked(root, on_disk)
    untracked = [p for p in on_disk if p not in tracked and p not in {h.path for h in hidden}]
    if untracked:
        envs = ", ".join(f"{Path(p).stem} ({p})" for p in untracked)
        yield "warn", f"config: envs on disk but not in git: {envs}; git add them"
    elif not hidden:
        yield "ok", f"config: every env file is in git ({len(on_disk)})"


def _capacity(settings: Settings | None) -> Iterator[Finding]:
    """The capacity the scheduler will use; a bad value (config or GOTASKS_*) is a finding
    of its own, and the figures are then worked out without it."""
    from gotasks.engine.capacity import detect, overrides
    from gotasks.engine.plan import run_variable_problems

    sched = settings.section("scheduler") if settings is not None else {}
    environ = dict(os.environ)
    for problem in run_variable_problems(environ):
        yield "fail", f"scheduler: {problem}"
    given: dict[str, Any] = {key: sched.get(key) for key in ("cpus", "memory", "reserve")}
    while True:
        try:
            found = detect(given["cpus"], given["memory"], given["reserve"], environ=environ)
            break
        except Failure as error:
            yield "fail", f"scheduler: {error}"
            # The message starts with the variable or key it is about: that one goes.
            what = str(error).split(":", 1)[0]
            named = overrides()
            names = {variable: key for key, (variable, _) in named.items()}
            keys = {config_key: key for key, (_, config_key) in named.items()}
            if what in names:
                del environ[what]
            elif what in keys and given[keys[what]] is not None:
                given[keys[what]] = None
            else:
                return
    for text in found.clamped:
        yield "warn", f"scheduler: {text}"
    yield "ok", f"scheduler: {found.cpus:g} CPUs ({found.sources['cpus']})"
    yield "ok", f"scheduler: {format_bytes(found.memory)} memory ({found.sources['memory']})"


def _sdks(settings: Settings) -> Iterator[Finding]:
    from gotasks.go.toolchain import reported_version
    from gotasks.sdkconfig import platform_of, sources_of, store_of

    store = store_of(settings, os.environ)
    try:  # $GOTASKS_SDK_MIRROR and sdk.sources, as an install would read them
        sources_of(settings, os.environ, platform_of(settings), store)
    except Failure as error:
        yield "fail", f"sdk: {error}"
    installed = store.installed()
    for sdk in installed:
        reported, said = reported_version(sdk.go, sdk.path)
        if reported == f"go{sdk.version}":
            yield "ok", f"sdk: go{sdk.version} intact ({sdk.path})"
        else:
            yield (
                "fail",
                (
                    f"sdk: go{sdk.version} at {sdk.path} is broken (bin/go version:"
                    f" {said});"
                    f" reinstall: inv sdk.install --force {sdk.version}"
                ),
            )
    for path in store.broken():
        yield (
            "warn",
            f"sdk: {path} has no completion marker: never used (inv sdk.remove {path.name})",
        )
    for path in store.leftovers():
        yield "warn", f"sdk: {path} was left by an interrupted install"
    if not installed:
        yield "ok", f"sdk: none installed in {store.root}"
