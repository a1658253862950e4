"""What a Go module's task reads, as parts of an up-to-date key (engine/freshness.py): the
module's files, its workspace and local replacements, the toolchain, the environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gotasks.core.digests import HashError, StatCache, entry_digest, tree_part

# Never inputs of a module's tasks: version control, gotasks' own state and artifacts,
# Python's byte code (written by the run itself). Hidden folders are skipped too, as go
# itself skips them when it lists packages.
SKIPPED_FOLDERS = frozenset({".git", ".gotasks", "dist", "__pycache__"})

# `go env` entries that name places on this machine, not how code is built: a different
# cache or temp folder builds the same thing. GOGCCFLAGS holds a fresh temp path each time.
PER_MACHINE_GO_ENV = frozenset(
    {
        "GOCACHE",
        "GOMODCACHE",
        "GOTMPDIR",
        "GOPATH",
        "GOENV",
        "GOMOD",
        "GOWORK",
        "GOTELEMETRY",
        "GOTELEMETRYDIR",
        "GOGCCFLAGS",
    }
)

# The shell's bookkeeping, which says where and how the shell runs, never what a test
# should do: left out of `inv test`'s key (every other variable counts: a test may read any).
BOOKKEEPING_VARIABLES = frozenset(
    {
        "_",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "PS1",
        "PS2",
        "PS4",
        "PROMPT_COMMAND",
        "HISTFILE",
        "HISTSIZE",
        "HISTFILESIZE",
        "HISTCONTROL",
        "COLUMNS",
        "LINES",
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "SSH_CLIENT",
        "SSH_CONNECTION",
        "SSH_TTY",
        "WINDOWID",
        "TERM_SESSION_ID",
        "ITERM_SESSION_ID",
        "TMUX_PANE",
        "STY",
        "XDG_SESSION_ID",
        "XDG_VTNR",
        "DBUS_SESSION_BUS_ADDRESS",
        "GPG_AGENT_INFO",
        "MAIL",
        # gotasks' own, different in every run (engine/reaper.py) or saying how it runs
        "GOTASKS_RUN_TOKEN",
        "GOTASKS_FORCE",
    }
)


def variables_for_test(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables `go test` passes on to the tests, less the shell's bookkeeping."""
    return {k: v for k, v in environ.items() if k not in BOOKKEEPING_VARIABLES}


def _prune_for(root: Path) -> Any:
    def prune(folder: Path, subfolders: list[str], files: list[str]) -> list[str]:
        kept = []
        for name in subfolders:
            if name in SKIPPED_FOLDERS or name.startswith("."):
                continue
            if (folder / name / "go.mod").exists():
                continue  # a nested module is a module of its own, with its own tasks
            kept.append(name)
        return kept

    return prune


def module_files(module_dir: Path, cache: StatCache, prefix: str = "") -> dict[str, str]:
    """Every file of the module (testdata/ included), by path relative to it."""
    return tree_part(module_dir, cache, _prune_for(module_dir), prefix)


def workspace_file(module_dir: Path, environ: Mapping[str, str]) -> Path | None:
    """The go.work go uses for this module: $GOWORK (off: none), else the nearest above."""
    chosen = environ.get("GOWORK")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    for folder in (module_dir, *module_dir.parents):
        if (folder / "go.work").is_file():
            return folder / "go.work"
    return None


_BLOCK_START = re.compile(r"^(\w+)\s*\(\s*$")


def directives(text: str, verb: str) -> list[str]:
    """The arguments of every `verb` line of a go.mod or go.work, single or in a block."""
    found, block = [], None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if block is not None:
            if line == ")":
                block = None
            elif line and block == verb:
                found.append(line)
            continue
        start = _BLOCK_START.match(line)
        if start:
            block = start.group(1)
            continue
        if line.startswith((verb + " ", verb + "\t")):
            found.append(line[len(verb) :].strip())
    return found


def local_replacements(text: str) -> list[str]:
    """The folders `replace old => ./path` lines point at (a version after => is a module)."""
    folders = []
    for spec in directives(text, "replace"):
        if "=>" not in spec:
            continue
        target = spec.split("=>", 1)[1].split()
        if len(target) == 1:
            path = target[0].strip('"')
            if path.startswith(("./", "../", "/")) or path in (".", ".."):
                folders.append(path)
    return folders


def used_folders(text: str) -> list[str]:
    return [spec.strip('"') for spec in directives(text, "use")]


def related_files(module_dir: Path, environ: Mapping[str, str], cache: StatCache) -> dict[str, str]:
    """What else go reads building this module: go.work and go.work.sum, the files of
    every module it uses, and of every local `replace` target (of go.mod and go.work);
    by path relative to the module."""
    found: dict[str, str] = {}
    me = module_dir.resolve()
    folders: list[Path] = []
    work = workspace_file(module_dir, environ)
    if work is not None:
        text = _read_text(work)
        for name in (work, work.with_name(work.name + ".sum")):
            if name.exists():
                found[_rel(name, module_dir)] = entry_digest(name, cache)
        folders += [work.parent / rel for rel in used_folders(text)]
        folders += [work.parent / rel for rel in local_replacements(text)]
    gomod = module_dir / "go.mod"
    if gomod.is_file():
        folders += [module_dir / rel for rel in local_replacements(_read_text(gomod))]
    seen = {me}
    for folder in folders:
        resolved = folder.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        if not resolved.is_dir():
            found[_rel(folder, module_dir) + "/"] = "missing"
            continue
        found.update(module_files(resolved, cache, _rel(folder, module_dir) + "/"))
    return found


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise HashError(f"{path}: {error.strerror or error}") from None


def go_env(go: Path, environ: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """`go env -json` as a run's commands see it, less the per-machine paths."""
    try:
        out = subprocess.run(
            [str(go), "env", "-json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(environ),
            cwd=cwd,
        )
        values = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        raise HashError(f"{go} env -json: {error}") from None
    if not isinstance(values, dict):
        raise HashError(f"{go} env -json failed: {out.stderr.strip()[-200:]}")
    return {str(k): str(v) for k, v in values.items() if k not in PER_MACHINE_GO_ENV}


def toolchain_binaries(
    goroot: Path, env: Mapping[str, str], cache: StatCache, cgo: bool
) -> dict[str, str]:
    """Digests of the go, compile, link and vet binaries (and with cgo, the C compiler)."""
    tools = Path(env.get("GOTOOLDIR") or goroot / "pkg" / "tool")
    binaries = {
        "go": goroot / "bin" / "go",
        "compile": tools / "compile",
        "link": tools / "link",
        "vet": tools / "vet",
    }
    digests = {name: cache.sha256(path) for name, path in binaries.items()}
    if cgo:
        compiler = (env.get("CC") or "cc").split()
        found = shutil.which(compiler[0]) if compiler else None
        digests["cc"] = f"{found} {cache.sha256(Path(found))}" if found else "absent"
    return digests
