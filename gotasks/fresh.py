"""Up-to-date skipping for lint, test and build: the hook a task asks "up to date?" before
its work and tells "done" after a success (the key's parts: README, Up-to-date skipping).

    check = fresh.start(c, "test", mod, flags)   # prints the task's header
    if check.result is not None:
        return check.result                      # up to date: nothing to run
    ...                                          # the work; a failure raises
    check.done()                                 # recorded if nothing changed meanwhile
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoke.config import Config
from invoke.context import Context

import gotasks
from gotasks.context import dry_run, module_header, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.digests import HashError, StatCache, code_digest, entry_digest
from gotasks.core.errors import describe
from gotasks.core.files import atomic_write_text, read_regular_bytes
from gotasks.core.units import format_duration
from gotasks.engine.freshness import (
    Entry,
    State,
    StateFile,
    UpToDate,
    explain,
    hidden_parts,
    key_of,
    when_text,
)
from gotasks.engine.placement import note_node_outputs
from gotasks.engine.run import RunOptions, run_state
from gotasks.go.inputs import go_env, module_files, related_files, toolchain_binaries
from gotasks.go.modules import Module
from gotasks.lookups import go_env_of
from gotasks.paths import state_dir

TRUTHY = ("1", "true", "yes", "on")


class _FreshRun:
    """What a run's tasks share: --force/--explain, the stat cache, look-ups made once
    (one per run: RunState.shared)."""

    def __init__(self, force: bool, explain: bool) -> None:
        self.force, self.explain = force, explain
        self.lock = threading.Lock()
        self.memo: dict[str, Any] = {}
        self._cache: StatCache | None = None
        self.root: Path | None = None  # set by the first task (the settings come later)

    @property
    def cache(self) -> StatCache:
        with self.lock:
            if self._cache is None:
                folder = state_dir(self.root) / "state" if self.root is not None else None
                self._cache = StatCache(folder / "stat-cache.json" if folder else None)
            return self._cache

    def once(self, name: str, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if name not in self.memo:
                self.memo[name] = compute()
            return self.memo[name]


def _new_fresh_run(options: RunOptions) -> _FreshRun:
    """--force (or GOTASKS_FORCE) and --explain for every task's up-to-date check."""
    force = options.force or os.environ.get("GOTASKS_FORCE", "").lower() in TRUTHY
    return _FreshRun(force, options.explain)


def _run_of(config: Config) -> _FreshRun:
    state = run_state(config)
    run = state.shared(_FreshRun, lambda: _new_fresh_run(state.options))
    if run.root is None:
        run.root = settings_of(config).root
    return run


# Tells whether a recorded success can stand in for a run now (its outputs are still there,
# its reports can be replayed); False: run the task.
Replay = Callable[["Check", Entry], bool]


@dataclass
class Check:
    c: Context
    task: str
    mod: Module
    flags: dict[str, Any]
    extra: Callable[[], dict[str, Any]]  # the task's own parts, asked before and after
    run: _FreshRun | None  # None: no checking at all (a dry run, a flag that always runs)
    state_file: StateFile | None = None
    state: State | None = None
    key: str | None = None
    parts: dict[str, dict[str, str]] | None = None
    started: float = field(default_factory=time.monotonic)
    result: UpToDate | None = None

    def stored(self, entry: Entry, name: str) -> bytes | None:
        """A copy the recorded success kept (a report to replay), None if it is gone."""
        if name not in entry.stored or self.state_file is None:
            return None
        try:
            return read_regular_bytes(self.state_file.path.parent / entry.stored[name])
        except OSError:
            return None

    def done(
        self, outputs: dict[str, Path] | None = None, stored: dict[str, bytes] | None = None
    ) -> None:
        """After a success: record it under its key, if the key is the same now as before
        the run (a file edited meanwhile was not what ran), with the sha256 of `outputs`
        (name -> file: a later skip needs them unchanged) and copies of `stored`."""
        if self.run is None or self.key is None or self.state is None or self.state_file is None:
            return
        seconds = time.monotonic() - self.started
        try:
            after = hidden_parts(_parts(self), self.state.salt)
        except HashError as error:
            self._say(f"not recorded as up to date: {error}")
            return
        if key_of(after) != self.key:
            changes = explain(self.parts, after)
            self._say("not recorded as up to date: changed while it ran: " + "; ".join(changes))
            return
        try:
            digests = {name: self.run.cache.sha256(path) for name, path in (outputs or {}).items()}
            entry = Entry(self.key, time.time(), seconds, digests)
            folder = self.state_file.path.parent
            for name, data in (stored or {}).items():
                file = f"{self.state_file.path.stem}.{self.key[:16]}.{name}"
                atomic_write_text(folder / file, data.decode("utf-8", "surrogateescape"))
                entry.stored[name] = file
            dropped = self.state_file.record(entry, after, self.state.salt)
            for old in dropped:
                for file in old.stored.values():
                    if file not in entry.stored.values():
                        (folder / file).unlink(missing_ok=True)
            self.run.cache.save()
        except (OSError, HashError) as error:
            text = describe(error) if isinstance(error, OSError) else str(error)
            console.warn(f"{self.task} {self.mod.label}: could not record it as up to date: {text}")

    def recorded_output(self, name: str, path: Path) -> bool:
        """Whether `path` holds byte for byte the output `name` of a recorded success (its
        sha256 through the stat cache), so a build may start from it; never with --force
        (everything is done again) or when nothing is checked."""
        if self.run is None or self.run.force or self.state is None:
            return False
        digests = {entry.outputs[name] for entry in self.state.entries if name in entry.outputs}
        try:
            return bool(digests) and self.run.cache.sha256(path) in digests
        except HashError:
            return False

    def _say(self, text: str) -> None:
        if self.run is not None and self.run.explain:
            console.info(f"why: {text}")


def start(
    c: Context,
    task: str,
    mod: Module,
    flags: dict[str, Any],
    extra: Callable[[], dict[str, Any]] | None = None,
    replay: Replay | None = None,
    enabled: bool = True,
) -> Check:
    """The task's key, before it runs. Up to date (and `replay` agrees): the header says so
    and `result` is set. Otherwise the usual header, and with --explain why it runs."""
    run = _run_of(c.config) if enabled and not dry_run(c) else None
    check = Check(c, task, mod, flags, extra or dict, run)
    if run is None:
        module_header(c, task, mod)
        return check
    settings = settings_of(c.config)
    name = mod.name or "root"
    path = state_dir(settings.root) / "state" / settings.env / f"{name}.{task}.json"
    identity = {"task": task, "module": mod.path, "folder": mod.rel, "env": settings.env}
    check.state_file = StateFile(path, identity)
    check.state = check.state_file.load()
    why: list[str]
    try:
        check.parts = hidden_parts(_parts(check), check.state.salt)
        check.key = key_of(check.parts)
    except HashError as error:
        why = [f"its inputs could not all be read ({error}): it runs, and is not recorded"]
    else:
        entry = check.state.find(check.key)
        if run.force:
            why = ["--force (or GOTASKS_FORCE)"]
        elif entry is None:
            why = explain(check.state.parts, check.parts)
        elif not _outputs_intact(check, entry):
            why = ["its outputs changed since it passed"]
        elif replay is not None and not replay(check, entry):
            why = ["what it reported then cannot be replayed"]
        else:
            _say_up_to_date(c, task, mod, entry)
            note_node_outputs(sorted(entry.outputs))
            if run.explain:
                console.info(f"why: the same inputs as its success of {when_text(entry.when)}")
            check.result = UpToDate(entry.when, entry.seconds)
            return check
    module_header(c, task, mod)
    if run.explain:
        for line in why:
            console.info(f"why: {line}")
    return check


def _say_up_to_date(c: Context, task: str, mod: Module, entry: Entry) -> None:
    """`==> test examples/hello (example.com/hello) [dev, go1.26.8] up to date (passed
    17:13, saved 4.2s)`."""
    toolchain, _ = toolchain_of(c.config)
    env = settings_of(c.config).env
    console.header(
        f"{task} {mod.label} ({mod.path}) [{env}, {toolchain.version_text}] up to date"
        f" (passed {when_text(entry.when)}, saved {format_duration(entry.seconds)})"
    )


def _outputs_intact(check: Check, entry: Entry) -> bool:
    assert check.run is not None
    for name, digest in entry.outputs.items():
        path = settings_of(check.c.config).root / name
        try:
            if check.run.cache.sha256(path) != digest:
                return False
        except HashError:
            return False
    return True


def _parts(check: Check) -> dict[str, Any]:
    """Every named part of the key (README: Up-to-date skipping), values in the clear."""
    assert check.run is not None
    c, run, mod = check.c, check.run, check.mod
    settings = settings_of(c.config)
    toolchain, _ = toolchain_of(c.config)
    commands_env = {**os.environ, **c.config.run.env}  # what the task's commands see
    goenv = go_env_answers(c)
    if check.task == "build":
        cgo = bool(settings.section("build")["cgo"])
    else:
        cgo = goenv.get("CGO_ENABLED") == "1"
    binaries = toolchain_binaries(toolchain.goroot, goenv, run.cache, cgo)
    goenv_file = Path(toolchain.goenv) if toolchain.goenv else None
    cache = run.cache  # not inside once(): it holds the run's lock, which .cache takes too
    own = run.once("code", lambda: code_digest(Path(gotasks.__file__).parent, cache=cache))
    section = settings.section(check.task)
    return {
        "gotasks": {"version": gotasks.__version__, "code": own},
        "task": {"task": check.task, "module": mod.path, "folder": mod.rel, "env": settings.env},
        "flags": check.flags,
        "settings": {"go": settings.section("go"), check.task: section},
        "toolchain": {
            **goenv,
            **{f"binary {name}": digest for name, digest in binaries.items()},
            "go env -w file": _optional_digest(goenv_file, run.cache),
        },
        "files": module_files(mod.dir, run.cache),
        "workspace": related_files(mod.dir, commands_env, run.cache),
        "inputs": _extra_inputs(settings.root, section.get("inputs") or [], run.cache),
        **check.extra(),
    }


def go_env_answers(c: Context) -> dict[str, str]:
    """`go env -json` as the run's commands see it, less the per-machine paths: asked once
    a run (and remembered between runs by what it answers from: lookups.go_env_of).
    HashError if go cannot answer."""
    run = _run_of(c.config)
    settings = settings_of(c.config)
    toolchain, _ = toolchain_of(c.config)
    commands_env = {**os.environ, **c.config.run.env}
    env_key = f"go env {toolchain.go} {sorted(c.config.run.env.items())}"
    answers: dict[str, str] = run.once(
        env_key,
        lambda: go_env_of(
            settings.root,
            toolchain,
            commands_env,
            lambda: go_env(toolchain.go, commands_env, settings.root),
        ),
    )
    return answers


def forced(c: Context) -> bool:
    """--force (or GOTASKS_FORCE): every task, and every check a task may skip, runs."""
    return _run_of(c.config).force


def _optional_digest(path: Path | None, cache: StatCache) -> str:
    if path is None or not os.path.lexists(path):
        return "absent"
    return entry_digest(path, cache)


def tool_digest(path: str | None, cache: StatCache) -> str:
    """A tool's or config file's path and digest, or "absent"."""
    return f"{path} {_optional_digest(Path(path), cache)}" if path else "absent"


def fresh_cache(c: Context) -> StatCache:
    """The run's stat cache, for a task's own parts."""
    return _run_of(c.config).cache


def _extra_inputs(root: Path, patterns: list[str], cache: StatCache) -> dict[str, str]:
    """`<task>.inputs`: the files the globs match (relative to the project root); a glob
    that matches nothing counts too, so that a first match changes the key."""
    found: dict[str, str] = {}
    for pattern in patterns:
        matched = sorted(root.glob(pattern))
        if not matched:
            found[f"{pattern} (no match)"] = "none"
        for path in matched:
            if path.is_dir() and not path.is_symlink():
                continue  # `dir/**` lists the folder and its files: the files count
            found[path.relative_to(root).as_posix()] = entry_digest(path, cache)
    return found
