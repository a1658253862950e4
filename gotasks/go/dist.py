"""dist/ under kills: builds write into scratch folders that name their owner, and a build is
put in by a swap written down first in a journal, so a later run can finish it or undo it.

What a kill at any moment leaves, and what the next run (holding the dist lock) makes of it:

- a scratch folder `.build-<pid>-<start time>-<host>-<random>/`: removed once that owner is
  gone (never while it runs: a reused pid has another start time);
- `.swap.json` (the journal: which target folders are being replaced, and the identity of
  each new one), `.old-<target>/` (a replaced target, set aside): if every new target is in
  place the swap is finished (rolled forward), otherwise undone (rolled back); either way
  SHA256SUMS is written again from what dist/ then holds.

Every step of the swap and of its recovery can be repeated after a kill in the middle of it:
each looks at the disk, not at how far it believes it got.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gotasks.core import owners
from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text
from gotasks.core.units import format_size
from gotasks.go.artifacts import SUMS, write_sha256sums
from gotasks.go.sdk.store import remove_tree, tree_bytes

SCRATCH_PREFIX = ".build-"
OLD_PREFIX = ".old-"
JOURNAL = ".swap.json"
# A scratch folder without an owner in its name was made by a gotasks from before owner
# records; left alone this long, no build is still writing into it.
OWNERLESS_AGE = 3600.0

# Tests only: SIGKILL this process right after its Nth step of a swap or of a recovery (the
# attack is the kill; the variable only picks the moment, so every moment can be tried).
KILL_HOOK = "GOTASKS_TEST_DIST_KILL_AFTER"
_steps_taken = 0


@contextmanager
def scratch(dist: Path) -> Iterator[Path]:
    """A new folder inside dist/ (so the swap is a rename on one filesystem) whose name
    records this process as its owner; removed when the block ends."""
    dist.mkdir(parents=True, exist_ok=True)
    path = dist / f"{SCRATCH_PREFIX}{owners.me().record}-{secrets.token_hex(4)}"
    path.mkdir()
    try:
        yield path
    finally:
        remove_tree(path)


def tidy(dist: Path) -> list[str]:
    """Recover from a swap a killed build left half done and remove the scratch folders
    of builds that are gone; one line for each thing done. Call it holding the dist lock."""
    if not dist.is_dir():
        return []
    said = []
    recovered = recover(dist)
    if recovered:
        said.append(recovered)
    abandoned = _abandoned_scratch(dist)
    if abandoned:
        size = sum(tree_bytes(path) for path in abandoned)
        for path in abandoned:
            remove_tree(path)
        names = ", ".join(path.name for path in abandoned)
        said.append(
            f"dist: removed {len(abandoned)} scratch folder(s) of killed builds"
            f" ({format_size(size)}): {names}"
        )
    return said


def swap_in(source: Path, dist: Path) -> None:
    """Put every folder in `source` (inside dist/) into dist/ in place of the one of that
    name, and write SHA256SUMS; all of them or, after a kill, none once recovered.
    Call it holding the dist lock."""
    assert not (dist / JOURNAL).exists(), "tidy() first, holding the dist lock"
    journal = _Journal(
        str(source.relative_to(dist)),
        {entry.name: _identity(entry) or [] for entry in sorted(source.iterdir())},
    )
    atomic_write_text(dist / JOURNAL, journal.dumps())
    _step()
    try:
        for name in journal.targets:
            target = dist / name
            if os.path.lexists(target):
                target.rename(dist / f"{OLD_PREFIX}{name}")
                _step()
            (source / name).rename(target)
            _step()
        _roll_forward(dist, journal)
    except Exception:
        recover(dist)  # this swap, undone (or finished, if every target was in)
        raise


def recover(dist: Path) -> str | None:
    """Finish or undo the swap a killed build left (its journal), else put back a target
    that a gotasks from before the journal left set aside; what was done, in one line."""
    _remove_temp_files(dist)
    journal = _Journal.read(dist)
    if journal is None:
        return _restore_set_aside(dist)
    placed = [name for name, ident in journal.targets.items() if _identity(dist / name) == ident]
    names = ", ".join(journal.targets)
    if len(placed) == len(journal.targets):
        _roll_forward(dist, journal)
        return (
            f"dist: finished the swap of a build killed while putting it in ({names}):"
            " dist/ holds that build"
        )
    _roll_back(dist, journal)
    return (
        f"dist: undid the swap of a build killed while putting it in ({names}):"
        " dist/ holds the build before it"
    )


@dataclass(frozen=True)
class _Journal:
    source: str  # where the new targets come from, relative to dist/
    targets: dict[str, list[int]]  # target folder -> the new folder's (device, inode)

    def dumps(self) -> str:
        return json.dumps({"source": self.source, "targets": self.targets}, indent=2) + "\n"

    @classmethod
    def read(cls, dist: Path) -> _Journal | None:
        path = dist / JOURNAL
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            journal = cls(data["source"], {str(k): list(v) for k, v in data["targets"].items()})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            # Written whole or not at all, so only a hand can have spoiled it.
            raise UsageError(
                f"{path}: not a swap journal ({type(error).__name__}: {error}); compare dist/"
                f" with {OLD_PREFIX}* and {SCRATCH_PREFIX}* beside it, then remove it"
            ) from None
        return journal


def _roll_forward(dist: Path, journal: _Journal) -> None:
    """Every new target is in: publish its checksums, drop what was set aside."""
    write_sha256sums(dist)
    _step()
    for name in journal.targets:
        old = dist / f"{OLD_PREFIX}{name}"
        if os.path.lexists(old):
            remove_tree(old)
            _step()
    (dist / JOURNAL).unlink(missing_ok=True)
    _step()


def _roll_back(dist: Path, journal: _Journal) -> None:
    """Put each new target back where it came from and each set-aside one back in place."""
    source = dist / journal.source
    for name, ident in journal.targets.items():
        target = dist / name
        if _identity(target) == ident:
            if source.is_dir():
                target.rename(source / name)
            else:
                remove_tree(target)
            _step()
        old = dist / f"{OLD_PREFIX}{name}"
        if os.path.lexists(old) and not os.path.lexists(target):
            old.rename(target)
            _step()
    write_sha256sums(dist)
    _step()
    (dist / JOURNAL).unlink(missing_ok=True)
    _step()


def _restore_set_aside(dist: Path) -> str | None:
    """`.old-<target>` with no journal: a gotasks before the journal was killed in its swap.
    If the target is missing the set-aside one is all there is of it, so it goes back."""
    restored, dropped = [], []
    for old in sorted(dist.glob(f"{OLD_PREFIX}*")):
        target = dist / old.name.removeprefix(OLD_PREFIX)
        if os.path.lexists(target):
            remove_tree(old)
            dropped.append(old.name)
        else:
            old.rename(target)
            restored.append(target.name)
    if not restored and not dropped:
        return None
    write_sha256sums(dist)
    done = [f"put back {', '.join(restored)}"] if restored else []
    done += [f"removed {', '.join(dropped)}"] if dropped else []
    return f"dist: {' and '.join(done)}, left by a killed build's swap"


def _remove_temp_files(dist: Path) -> None:
    """What atomic_write_text leaves of SHA256SUMS or the journal when killed mid-write:
    both are written only under the dist lock, so any such file now is a dead one's."""
    for name in (SUMS, JOURNAL):
        for leftover in dist.glob(f".{name}.*.tmp"):
            leftover.unlink(missing_ok=True)


def _abandoned_scratch(dist: Path) -> list[Path]:
    found = []
    for path in sorted(dist.glob(f"{SCRATCH_PREFIX}*")):
        record = path.name.removeprefix(SCRATCH_PREFIX).rpartition("-")[0]
        owner = owners.parse(record)
        if owner is None:
            try:
                idle = time.time() - path.stat().st_mtime
            except OSError:
                continue
            if idle < OWNERLESS_AGE:
                continue
        elif not owner.is_gone():
            continue
        found.append(path)
    return found


def _identity(path: Path) -> list[int] | None:
    """(device, inode): a folder keeps it through a rename, so the journal can tell the new
    target from the old one whatever their names are now."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return [info.st_dev, info.st_ino]


def _step() -> None:
    global _steps_taken
    _steps_taken += 1
    if os.environ.get(KILL_HOOK) == str(_steps_taken):
        os.kill(os.getpid(), signal.SIGKILL)
