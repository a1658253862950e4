"""Per-run look-ups that do not change between runs, kept in .gotasks/cache/ keyed by what
determines them: the go binary's `go env` answers and `go tool dist list`, a module's main
packages (and, through configcache.py, each env's settings).

Every entry holds the key it was computed under and the files (with their size, times
and inode) it was computed from; a different key, a changed file, an unreadable or damaged
entry, or any error at all is a miss, and the value is computed afresh. A cache that
cannot be written (a read-only checkout) only means no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gotasks import __version__
from gotasks.core.files import (
    atomic_write_text,
    read_regular_bytes,
    read_regular_text,
)
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.core.digests import StatCache
    from gotasks.go.toolchain import Toolchain

FORMAT_VERSION = 1
T = TypeVar("T")
Stamp = list[int] | None  # [size, mtime_ns, ctime_ns, inode, mode], None: missing


# A dry run (`inv --dry`) writes nothing, the cache included: it reads what is there.
_writable = True


def set_writable(writable: bool) -> None:
    global _writable
    _writable = writable


def cache_dir(root: Path) -> Path:
    return state_dir(root) / "cache"


def stamp(path: Path) -> Stamp:
    """What tells a file changed without reading it, as Go's own build cache does."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode]


def digest(*parts: Any) -> str:
    """sha256 of the parts' canonical JSON (gotasks' version always among them)."""
    text = json.dumps([FORMAT_VERSION, __version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(paths: Iterable[Path]) -> str:
    """sha256 of files' contents (a missing file counts as missing, not as empty)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path).encode() + b"\0")
        try:
            # Never a plain read: a FIFO would hang the run (read_regular_bytes refuses it).
            h.update(read_regular_bytes(path))
        except OSError:
            h.update(b"\0missing\0")
    return h.hexdigest()


def remembered(
    root: Path,
    name: str,
    key: str,
    compute: Callable[[], T],
    *,
    encode: Callable[[T], Any] = lambda value: value,
    decode: Callable[[Any], T] = lambda data: data,
    files: Callable[[T], Iterable[Path]] = lambda _: (),
    fresh: Callable[[Any], bool] = lambda _: True,
) -> T:
    """The value `compute()` gave last time under `key`, if the files it named then
    (`files(value)`) are unchanged and `fresh(what was stored)` says it still holds; else
    `compute()`, remembered. Errors of compute are never remembered: they propagate, and
    the next run asks again."""
    hit = recall(root, name, key)
    if hit is not None and _holds(fresh, hit):
        try:
            return decode(hit)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged or foreign entry: compute afresh
    value = compute()
    with contextlib.suppress(TypeError, ValueError):  # no cache this time; nothing is lost
        remember(root, name, key, encode(value), files(value))
    return value


def recall(root: Path, name: str, key: str) -> Any | None:
    """What remember() kept under `key` (None: nothing, another key, a changed file)."""
    return _read(cache_dir(root) / f"{name}.json", key)


def remember(root: Path, name: str, key: str, value: Any, files: Iterable[Path] = ()) -> None:
    """Keep `value` (JSON-able) under `key`, with the stamps of `files` it was made from;
    a cache that cannot be written is no cache."""
    if not _writable:
        return
    try:
        checked = {str(p): stamp(p) for p in files}
        doc = {"version": FORMAT_VERSION, "key": key, "files": checked, "value": value}
        # Written in the order it came: a remembered mapping whose order carries meaning
        # (build.version_vars gives -ldflags' order) comes back as it was computed.
        atomic_write_text(cache_dir(root) / f"{name}.json", json.dumps(doc) + "\n")
    except OSError:
        pass


def _holds(fresh: Callable[[Any], bool], stored: Any) -> bool:
    try:
        return fresh(stored)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False  # a damaged or foreign entry


def _read(path: Path, key: str) -> Any | None:
    try:
        doc = json.loads(read_regular_text(path))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION or doc.get("key") != key:
        return None
    files = doc.get("files")
    if not isinstance(files, dict) or "value" not in doc:
        return None
    for name, recorded in files.items():
        if stamp(Path(name)) != recorded:
            return None
    return doc["value"]


# --- the toolchain ----------------------------------------------------------------------------

# `go env GOENV` reads these; GOROOT is taken out of go's environment (toolchain._ask_go).
_GOENV_INPUTS = ("GOENV", "XDG_CONFIG_HOME", "HOME")


def go_key(go: Path) -> list[Any]:
    return [str(go), os.path.realpath(go), stamp(go)]


def toolchain_at(root: Path, go: Path | None = None) -> Toolchain:
    """find_toolchain(go), remembered by the go binary (path, where it leads, its stamp)
    and what `go env GOENV` reads; checked against its GOROOT's VERSION and go.env."""
    from gotasks.go.toolchain import Toolchain, find_toolchain
    from gotasks.go.version import GoVersion

    if go is None:
        found = shutil.which("go")
        if found is None:
            return find_toolchain()  # its own error: go not found
        go = Path(found)
    key = digest("toolchain", go_key(go), {k: os.environ.get(k) for k in _GOENV_INPUTS})
    return remembered(
        root,
        "toolchain-" + digest(str(go))[:16],
        key,
        lambda: find_toolchain(go),
        encode=lambda t: {
            "go": str(t.go),
            "goroot": str(t.goroot),
            "version_text": t.version_text,
            "goenv": t.goenv,
        },
        decode=lambda d: Toolchain(
            go=Path(d["go"]),
            goroot=Path(d["goroot"]),
            version=GoVersion.parse(d["version_text"].split("-")[0]),
            version_text=str(d["version_text"]),
            goenv=str(d["goenv"]),
        ),
        files=lambda t: [t.goroot / "VERSION", t.goroot / "go.env", t.goroot / "bin" / "go"],
    )


def targets_of(root: Path, toolchain: Toolchain) -> set[str] | None:
    """supported_targets (`go tool dist list`), remembered by the go binary."""
    from gotasks.go.toolchain import supported_targets

    key = digest("targets", go_key(toolchain.go), str(toolchain.goroot))
    found = remembered(
        root,
        "targets-" + digest(str(toolchain.go))[:16],
        key,
        lambda: supported_targets(toolchain),
        encode=lambda targets: None if targets is None else sorted(targets),
        decode=lambda d: None if d is None else {str(t) for t in d},
    )
    return found


# --- the toolchain's `go env` -----------------------------------------------------------------

# The C compilers go may pick: whether one is on PATH decides CGO_ENABLED's default.
_C_COMPILERS = ("gcc", "clang", "cc")


def go_env_key(root: Path, toolchain: Toolchain, environ: Mapping[str, str]) -> str:
    """What `go env -json` in `root` answers from: the go binary, its GOROOT's go.env and
    VERSION, the `go env -w` file, root's go.mod and go.work (a toolchain line), every
    variable but the shell's bookkeeping (go reads GO*, CGO_*, CC, PATH, HOME...), and the
    C compilers on PATH. Stamps, taken before go runs: a file changed while it ran changes
    the next run's key."""
    from gotasks.go.inputs import variables_for_test

    files = [
        toolchain.goroot / "go.env",
        toolchain.goroot / "VERSION",
        root / "go.mod",
        root / "go.work",
    ]
    if toolchain.goenv:
        files.append(Path(toolchain.goenv))
    path = environ.get("PATH")
    wanted = (environ.get("CC") or "").split()[:1] + list(_C_COMPILERS)
    compilers = {name: shutil.which(name, path=path) for name in wanted}
    return digest(
        "go-env",
        go_key(toolchain.go),
        str(toolchain.goroot),
        str(root),
        sorted(variables_for_test(environ).items()),
        [stamp(f) for f in files],
        {name: [found, stamp(Path(found)) if found else None] for name, found in compilers.items()},
    )


def go_env_of(
    root: Path,
    toolchain: Toolchain,
    environ: Mapping[str, str],
    compute: Callable[[], dict[str, str]],
) -> dict[str, str]:
    """compute() (`go env -json`, less the per-machine paths), remembered by go_env_key:
    every up-to-date check needs it, and go (which runs the C compiler for it) takes longer
    than the rest of a nothing-changed check."""
    key = go_env_key(root, toolchain, environ)
    name = "go-env-" + digest(str(toolchain.go), str(root))[:16]
    return remembered(
        root, name, key, compute, decode=lambda d: {str(k): str(v) for k, v in d.items()}
    )


# --- a module's main packages -----------------------------------------------------------------

# Folders `go list ./...` never looks into.
_NOT_PACKAGES = {"vendor", "testdata"}


def source_listing(folder: Path, cache: StatCache | None = None) -> list[Any]:
    """Every folder's name under `folder`, and in them each Go source with a digest of its
    header (go/sources.py's go_header: build constraints, package clause, imports) and each
    go.mod/go.sum/go.work with a digest of its content: what decides which packages there
    are, what each is called, which files it builds from and what it imports. An edit to a
    function body changes none of it. Read before go runs: a file changed while it ran
    changes the next run's key. With the run's stat cache, a file whose stat is the same
    as when its digest was kept is not read again (the cache's rules: one changed within
    2 s of the cache's save is read again next time)."""
    from gotasks.core.digests import HashError, StatCache
    from gotasks.go.sources import go_header

    reader = cache or StatCache(None)
    listing: list[Any] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _NOT_PACKAGES and not d.startswith((".", "_"))
        )
        rel = os.path.relpath(dirpath, folder)
        listing.append([rel, dirnames[:]])
        for name in sorted(filenames):
            if name.endswith(".go") or name in ("go.mod", "go.sum", "go.work"):
                path = Path(dirpath) / name
                try:
                    if name.endswith(".go"):
                        seen = reader.derived(path, "go header", go_header)
                    else:
                        seen = reader.derived(path, "content", lambda data: data)
                except HashError:
                    listing.append([rel, name, stamp(path)])  # go says what is wrong with it
                    continue
                listing.append([rel, name, seen])
    return listing


def main_packages_of(
    root: Path,
    module_dir: Path,
    toolchain: Toolchain,
    run_env: Mapping[str, str],
    patterns: list[str],
    compute: Callable[[], T],
    decode: Callable[[Any], T],
    cache: StatCache | None = None,
) -> T:
    """compute() (go list of the main packages: what it says of them, JSON-able; `decode`
    reads it back, raising on a wrong shape), remembered by the go binary, the Go
    variables of the run and of this process (tags, GOOS, CGO_ENABLED change what builds),
    the patterns, the module's folders and Go files (names and headers: source_listing),
    and the project's go.work. A one-line edit in a function asks go nothing."""
    go_vars = _go_variables()
    key = digest(
        "main-packages",
        go_key(toolchain.go),
        str(module_dir),
        patterns,
        dict(run_env),
        go_vars,
        source_listing(module_dir, cache),
        stamp(root / "go.work"),
    )
    name = "main-packages-" + digest(str(module_dir))[:16]
    return remembered(root, name, key, compute, decode=decode)


def _go_variables() -> dict[str, str]:
    """This process's Go variables; gotasks' own GOTASKS_* are none (GOTASKS_RUN_TOKEN
    differs in every run)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("GO", "CGO_")) and not k.startswith("GOTASKS_")
    }


# --- the tools a go.mod declares ------------------------------------------------------------


def declared_tools_of(
    root: Path,
    module_dir: Path,
    toolchain: Toolchain,
    run_env: Mapping[str, str],
    compute: Callable[[], list[str]],
) -> list[str]:
    """compute() (go's reading of go.mod's tool lines: `go mod edit -json`), remembered by
    the go binary, the Go variables and go.mod's content. With -modfile in GOFLAGS (another
    file is read) it is asked every time."""
    go_vars = {**_go_variables(), **run_env}
    if "-modfile" in go_vars.get("GOFLAGS", ""):
        return compute()
    gomod = module_dir / "go.mod"
    key = digest(
        "declared-tools", go_key(toolchain.go), str(module_dir), go_vars, file_digest([gomod])
    )

    def checked(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValueError("not a list of tools")
        return value

    return remembered(root, "tools-" + digest(str(module_dir))[:16], key, compute, decode=checked)
