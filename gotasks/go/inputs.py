"""What a Go module's task reads, as parts of an up-to-date key (engine/freshness.py): the
module's files, its workspace and local replacements, the toolchain, the environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
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

# The Go settings that decide what a build makes (and what a test runs on): a cluster worker
# builds with the client's values of these (remote/goenv.py), whatever its own are, so that
# its binaries are the client's byte for byte. The rest of `go env` says where things are
# on a machine or where modules come from (go.sum checks what they are).
OUTPUT_GO_VARIABLES = frozenset(
    {
        "GOFLAGS",
        "GOOS",
        "GOARCH",
        "GO386",
        "GOAMD64",
        "GOARM",
        "GOARM64",
        "GOMIPS",
        "GOMIPS64",
        "GOPPC64",
        "GORISCV64",
        "GOWASM",
        "GOEXPERIMENT",
        "GOFIPS140",
        "GODEBUG",
        "GO111MODULE",
        "GOTOOLCHAIN",
        "CGO_ENABLED",
        "CGO_CFLAGS",
        "CGO_CPPFLAGS",
        "CGO_CXXFLAGS",
        "CGO_FFLAGS",
        "CGO_LDFLAGS",
        "CC",
        "CXX",
        "AR",
        "PKG_CONFIG",
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
    return [folder for _, folder in replaced_locally(text)]


def replaced_locally(text: str) -> list[tuple[str, str]]:
    """(module path, folder) of each `replace` that points at a folder."""
    found = []
    for spec in directives(text, "replace"):
        if "=>" not in spec:
            continue
        old, new = spec.split("=>", 1)
        target = new.split()
        if len(target) == 1:
            path = target[0].strip('"')
            if path.startswith(("./", "../", "/")) or path in (".", ".."):
                found.append((old.split()[0].strip('"') if old.split() else "", path))
    return found


def used_folders(text: str) -> list[str]:
    return [spec.strip('"') for spec in directives(text, "use")]


def related_files(module_dir: Path, environ: Mapping[str, str], cache: StatCache) -> dict[str, str]:
    """What else go reads building this module, by path relative to it: go.work and
    go.work.sum; the go.mod and go.sum of every module the workspace uses (its build list
    is made from all of them); the other files of only those workspace modules this one
    needs (workspace_needs); every local `replace` target (of go.work and every go.mod)."""
    found: dict[str, str] = {}
    me = module_dir.resolve()
    folders: list[Path] = []  # whose every file counts
    work = workspace_file(module_dir, environ)
    if work is not None:
        text = _read_text(work)
        for name in (work, work.with_name(work.name + ".sum")):
            if name.exists():
                found[_rel(name, module_dir)] = entry_digest(name, cache)
        used = [work.parent / rel for rel in used_folders(text)]
        for folder in used:
            for listing in (folder / "go.mod", folder / "go.sum"):
                if listing.exists() and folder.resolve() != me:  # mine are among my files
                    found[_rel(listing, module_dir)] = entry_digest(listing, cache)
            gomod = folder / "go.mod"
            if gomod.is_file():  # the workspace uses every module's replacements
                folders += [
                    folder / rel
                    for old, rel in replaced_locally(_read_text(gomod))
                    if not _is_workspace_module(folder / rel, old, used)
                ]
        folders += workspace_needs(me, used, cache)
        folders += [work.parent / rel for rel in local_replacements(text)]
        # `go work vendor` puts the workspace's dependencies beside go.work.
        if (work.parent / "vendor").is_dir():
            folders.append(work.parent / "vendor")
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


def workspace_needs(me: Path, used: list[Path], cache: StatCache) -> list[Path]:
    """The workspace modules (of the `use` folders) this module's code can reach: those
    whose module path its go.mod or its Go files mention (an import, a require, a
    replace), then theirs, and so on. In a workspace a module may import another without
    requiring it, so the Go files are read; a mention in a comment or a string counts too
    (a needless rerun, never a wrong green). A use folder whose module path cannot be
    read, or a module that is not among the use folders, needs them all."""
    others = [f.resolve() for f in used if f.resolve() != me and f.resolve().is_dir()]
    paths: dict[Path, str] = {}
    for folder in others:
        path = _module_path(folder / "go.mod")
        if path is None or me not in {f.resolve() for f in used}:
            return others
        paths[folder] = path
    needed: list[Path] = []
    todo = [me]
    while todo:
        folder = todo.pop()
        candidates = {path: dep for dep, path in paths.items() if dep not in needed}
        for path in _mentioned(folder, set(candidates), cache):
            needed.append(candidates[path])
            todo.append(candidates[path])
    return needed


def _is_workspace_module(folder: Path, path: str, used: list[Path]) -> bool:
    """A replacement by a module of the workspace itself: who needs it, workspace_needs
    tells (its module path is mentioned in the replacing go.mod)."""
    resolved = folder.resolve()
    return any(f.resolve() == resolved for f in used) and _module_path(folder / "go.mod") == path


def _module_path(gomod: Path) -> str | None:
    try:
        found = directives(gomod.read_text(encoding="utf-8", errors="replace"), "module")
    except OSError:
        return None
    return found[0].strip('"') if found else None


_mentions: dict[tuple[str, bool, frozenset[str]], frozenset[str]] = {}
_mentions_lock = threading.Lock()


def _mentioned(folder: Path, candidates: set[str], cache: StatCache) -> set[str]:
    """Which of the module paths `candidates` the module in `folder` mentions: its go.mod
    (a require or replace) or any of its Go files, as an import path would be written (a
    quoted or back-quoted string that is the path or starts with path/)."""
    wanted = frozenset(candidates)
    found: set[str] = set()
    for rel, digest in module_files(folder, cache).items():
        if not (rel.endswith(".go") or rel == "go.mod") or not digest.startswith("file "):
            continue
        memo = (digest, rel == "go.mod", wanted)  # the same content, the same answer
        with _mentions_lock:
            known = _mentions.get(memo)
        if known is None:
            try:
                data = (folder / rel).read_bytes()
            except OSError as error:
                raise HashError(f"{folder / rel}: {error.strerror or error}") from None
            known = frozenset(p for p in wanted if _mentions_path(data, p, rel == "go.mod"))
            with _mentions_lock:
                _mentions[memo] = known
        found |= known
    return found


def _mentions_path(data: bytes, path: str, gomod: bool) -> bool:
    name = path.encode()
    if gomod:  # unquoted in go.mod: `require example.com/m2 v0.0.0`
        return (
            re.search(rb"(^|[\s\"(])" + re.escape(name) + rb"([\s\"/]|$)", data, re.M) is not None
        )
    return any(q + name + end in data for q in (b'"', b"`") for end in (q, b"/"))


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
