"""Content digests of files and trees, through a stat cache: a file whose size, mtime,
ctime and inode are unchanged is not read again. Used by up-to-date skipping
(engine/freshness.py) for the files a task reads."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gotasks.core.files import atomic_write_text, locked_beside, read_regular_bytes

CACHE_SCHEMA = 1  # of the stat cache file: another is an empty cache
# Between a file's name and the kind of a derived digest in the cache's keys: no path
# holds it.
_KIND = "\0"
# A file changed this close to the stat cache's write may change again within the same
# timestamp tick: it is hashed again next time (as Go's own test cache does).
RECENT_SECONDS = 2.0


class HashError(Exception):
    """A file of the key could not be read: the key is unknown, so the task runs."""


def code_digest(folder: Path, suffix: str = ".py", cache: StatCache | None = None) -> str:
    """A digest of every `suffix` file under `folder` (names and contents), e.g. the task
    code of the tool itself: a change to how a task runs makes every record a miss. With a
    stat cache, a file whose stat is unchanged is not read again (every run asks)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob(f"*{suffix}")):
        if "__pycache__" in path.parts:
            continue
        digest.update(os.fsencode(path.relative_to(folder).as_posix()) + b"\0")
        if cache is None:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            digest.update(bytes.fromhex(cache.sha256(path)))
    return digest.hexdigest()


# -- file digests through a stat cache --------------------------------------------------------


def _identity(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


class StatCache:
    """sha256 of files by path, trusted while (size, mtime_ns, ctime_ns, inode) stay the
    same; shared by a run's tasks (thread-safe) and saved merged with other runs' entries.
    Besides a file's sha256 it keeps digests of what is derived from its bytes (a Go
    file's header: `derived`), by the same stat and the same rules."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.entries: dict[str, list[Any]] = {}
        self.fresh: dict[str, list[Any]] = {}  # hashed by this process, to save
        if path is not None:
            self.entries = _read_cache(path)

    def sha256(self, path: Path, info: os.stat_result | None = None) -> str:
        """The file's sha256 (following links); HashError if it cannot be read."""

        def content(name: str) -> str:
            digest = hashlib.sha256()
            with open(name, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()

        return self._through(os.fspath(path), info, content)

    def derived(self, path: Path, kind: str, derive: Callable[[bytes], bytes]) -> str:
        """sha256 of derive(the file's bytes), e.g. a Go file's header: computed again only
        when the file's stat changed. `kind` names what derive takes out (one entry per
        file and kind). A file that is not a regular one, or cannot be read: HashError."""
        name = os.fspath(path)

        def content(name: str) -> str:
            return hashlib.sha256(derive(read_regular_bytes(Path(name)))).hexdigest()

        return self._through(name, None, content, f"{name}{_KIND}{kind}")

    def _through(
        self,
        name: str,
        info: os.stat_result | None,
        compute: Callable[[str], str],
        key: str | None = None,
    ) -> str:
        key = key or name
        try:
            info = info or os.stat(name)
            ident = _identity(info)
            with self.lock:
                known = self.entries.get(key)
            if known is not None and known[:4] == ident:
                return str(known[4])
            value = compute(name)
            after = _identity(os.stat(name))
        except OSError as error:
            raise HashError(f"{name}: {error.strerror or error}") from None
        entry = [*ident, value]
        if after == ident:  # not changed while it was read
            with self.lock:
                self.entries[key] = entry
                self.fresh[key] = entry
        return value

    def save(self) -> None:
        """Merge what this process hashed into the file, leaving out files changed within
        RECENT_SECONDS of now (their next change could keep the same timestamps)."""
        if self.path is None:
            return
        with self.lock:
            mine = dict(self.fresh)
        if not mine:
            return
        now_ns = time.time_ns()
        recent = int(RECENT_SECONDS * 1e9)
        with locked_beside(self.path):
            merged = _read_cache(self.path)
            for name, entry in mine.items():
                if now_ns - entry[1] >= recent:  # by mtime, as Go does
                    merged[name] = entry
                else:
                    merged.pop(name, None)
            # Files gone since do not accumulate for ever.
            merged = {key: e for key, e in merged.items() if os.path.lexists(key.split(_KIND)[0])}
            doc = {"format": "gotasks-stat-cache", "schema": CACHE_SCHEMA, "files": merged}
            atomic_write_text(self.path, json.dumps(doc, separators=(",", ":")) + "\n")
        with self.lock:
            for name in mine:
                self.fresh.pop(name, None)


def _read_cache(path: Path) -> dict[str, list[Any]]:
    """The cache's entries; anything unreadable is an empty cache (it only saves time)."""
    try:
        doc = json.loads(read_regular_bytes(path))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(doc, dict) or doc.get("schema") != CACHE_SCHEMA:
        return {}
    files = doc.get("files")
    if not isinstance(files, dict):
        return {}
    return {
        name: entry
        for name, entry in files.items()
        if isinstance(entry, list)
        and len(entry) == 5
        and all(isinstance(n, int) and not isinstance(n, bool) for n in entry[:4])
        and isinstance(entry[4], str)
    }


# -- a tree of files as one part of a key -------------------------------------------------------

# prune(folder, subfolders, files) -> the subfolders to enter (the app's skipping rules)
Prune = Callable[[Path, list[str], list[str]], list[str]]


def tree_part(root: Path, cache: StatCache, prune: Prune, prefix: str = "") -> dict[str, str]:
    """{relative path: "type mode digest"} of every entry under root that `prune` keeps:
    a file's content, a link's target (and its file's content), anything else by type."""
    found: dict[str, str] = {}

    def walk_error(error: OSError) -> None:
        raise HashError(f"{error.filename}: {error.strerror or error}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        folder = Path(dirpath)
        # A link to a folder is listed among the folders; it is recorded, not entered.
        linked = [d for d in dirnames if os.path.islink(folder / d)]
        dirnames[:] = sorted(prune(folder, [d for d in dirnames if d not in linked], filenames))
        rel_folder = folder.relative_to(root).as_posix()
        for name in sorted([*filenames, *linked]):
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            found[prefix + rel] = entry_digest(folder / name, cache)
    return found


def entry_digest(path: Path, cache: StatCache) -> str:
    """ "file 755 <sha256>", "link <target> <sha256 or kind>", or the kind of anything else."""
    try:
        info = os.lstat(path)
    except OSError as error:
        raise HashError(f"{path}: {error.strerror or error}") from None
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        try:
            followed = os.stat(path)
        except OSError:
            return f"link {target} dangling"
        content = cache.sha256(path, followed) if stat.S_ISREG(followed.st_mode) else "other"
        return f"link {target} {content}"
    if stat.S_ISREG(info.st_mode):
        executable = "755" if info.st_mode & 0o111 else "644"
        return f"file {executable} {cache.sha256(path, info)}"
    return f"other {stat.S_IFMT(info.st_mode):o}"
