"""What a `docker build` of a folder would send: file count, bytes and the biggest entries."""

from __future__ import annotations

import heapq
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gotasks.container.ignorefile import IgnoreFile


@dataclass(frozen=True)
class Entry:
    """A path in the context and its size: a file's own, or the total of a folder's files."""

    path: str
    size: int


@dataclass(frozen=True)
class ContextSummary:
    files: int
    bytes: int
    largest: tuple[Entry, ...]  # top-level entries, biggest first
    largest_files: tuple[Entry, ...] = ()  # single files, biggest first


def summarize(root: Path, ignore: IgnoreFile | None, top: int = 10) -> ContextSummary:
    """Walk `root` as the build context, leaving out what `ignore` excludes.

    Regular files and symlinks count (a symlink is not followed: it is sent as a link, at its
    lstat size); folders count only through their files, and sockets, FIFOs and devices not
    at all. An excluded folder is skipped whole unless an exception could bring back
    something inside it. The .dockerignore and Dockerfile get no special treatment: BuildKit
    reads them separately, and they are in the context only if the rules keep them.
    """
    files = 0
    total = 0
    per_top: dict[str, int] = {}
    included: list[Entry] = []
    # (folder, its path relative to root with a trailing "/", excluded itself?)
    pending: list[tuple[Path, str, bool]] = [(root, "", False)]
    while pending:
        folder, prefix, folder_excluded = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except PermissionError:
            if folder_excluded:
                continue  # fsutil too ignores an unreadable folder it would not send
            raise
        for entry in entries:
            rel = prefix + entry.name
            excluded = ignore is not None and ignore.excludes(rel)
            if entry.is_dir(follow_symlinks=False):
                if excluded and ignore is not None and not ignore.may_reinclude_below(rel):
                    continue
                pending.append((Path(entry.path), rel + "/", excluded))
                continue
            if excluded:
                continue
            info = entry.stat(follow_symlinks=False)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                continue
            files += 1
            total += info.st_size
            head = rel.split("/", 1)[0]
            per_top[head] = per_top.get(head, 0) + info.st_size
            included.append(Entry(rel, info.st_size))
    top = max(top, 0)
    largest = (Entry(path, size) for path, size in per_top.items())
    return ContextSummary(
        files=files,
        bytes=total,
        largest=tuple(heapq.nsmallest(top, largest, key=_biggest_first)),
        largest_files=tuple(heapq.nsmallest(top, included, key=_biggest_first)),
    )


def _biggest_first(entry: Entry) -> tuple[int, str]:
    # Ties go to the path that sorts first, so the result does not depend on the order
    # scandir lists a folder in.
    return (-entry.size, entry.path)
