"""Up-to-date skipping, the generic half: a task's key is the sha256 of a canonical JSON of
named parts (everything that can change what the task does); a success is recorded under
its key in a small state file, and a later run with the same key is skipped.

Knows no Go: the app says what the parts are. The rules that keep it from ever giving a
wrong green live here and in the app's hook: any doubt (a file that cannot be read, a
damaged state file) is a miss, and only a success whose key is the same after the run as
before it is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gotasks.core.files import atomic_write_text, locked_beside, read_regular_bytes, set_aside

SCHEMA = 1  # of the key's parts and of the state files: a change makes every record a miss
STATE_FORMAT = "gotasks-state"
KEEP_ENTRIES = 5  # keys kept per state file: switching branches back still skips


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8. A file name that is not
    UTF-8 (Python holds its bytes as surrogates) is encoded back to those bytes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


def key_of(parts: Mapping[str, Any]) -> str:
    """The key: sha256 of the parts' canonical JSON, with the schema version among them."""
    return hashlib.sha256(canonical({"schema": SCHEMA, **parts})).hexdigest()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"test": {"timeout": "10m"}} -> {"test.timeout": "10m"}: the names --explain shows."""
    if not isinstance(value, Mapping):
        return {prefix or "value": value}
    flat: dict[str, Any] = {}
    for name, item in value.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(item, Mapping) and item:
            flat.update(flatten(item, path))
        else:
            flat[path] = item
    return flat


def hidden_parts(parts: Mapping[str, Any], salt: str) -> dict[str, dict[str, str]]:
    """Each part as {name: salted digest of its value}: what is stored and keyed. A change
    shows by name (--explain); no value (a token in a URL, a variable) is ever written."""
    return {
        part: {
            name: hmac.new(salt.encode(), canonical(item), "sha256").hexdigest()[:32]
            for name, item in flatten(value).items()
        }
        for part, value in parts.items()
    }


# -- what changed: --explain ------------------------------------------------------------------


def explain(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Why a key differs from the recorded one, one line per part that changed: files
    added, removed or changed; settings, flags and toolchain entries by name; variables by
    name only (their values are never stored)."""
    if old is None:
        return ["no earlier success recorded"]
    lines = []
    for part in sorted(set(old) | set(new)):
        before, after = old.get(part), new.get(part)
        if canonical(before) == canonical(after):
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            lines.append(f"{part}: {_mapping_change(before, after, part)}")
        else:
            lines.append(f"{part}: changed")
    return lines or ["the same inputs, but not recorded (an earlier run's key differed)"]


def _mapping_change(before: Mapping[str, Any], after: Mapping[str, Any], part: str) -> str:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    both = set(before) & set(after)
    changed = sorted(k for k in both if canonical(before[k]) != canonical(after[k]))
    words = []
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            shown = ", ".join(names[:10]) + more
            words.append(f"{label} {shown}")
    return "; ".join(words)


# -- the state file of one (env, module, task) -------------------------------------------------


@dataclass
class Entry:
    """One recorded success."""

    key: str
    when: float  # unix time it passed
    seconds: float  # how long it took: what a skip saves
    outputs: dict[str, str] = field(default_factory=dict)  # path -> sha256 it must still have
    stored: dict[str, str] = field(default_factory=dict)  # name -> a copy kept for replay

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "when": self.when,
            "seconds": self.seconds,
            "outputs": self.outputs,
            "stored": self.stored,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Entry:
        if not isinstance(doc, dict):
            raise ValueError("an entry is not a mapping")
        key, when, seconds = doc.get("key"), doc.get("when"), doc.get("seconds")
        outputs, stored = doc.get("outputs", {}), doc.get("stored", {})
        if not isinstance(key, str) or len(key) != 64:
            raise ValueError("an entry has no key")
        if not _finite(when) or not _finite(seconds):
            raise ValueError("an entry's time is not a number")
        assert isinstance(when, int | float) and isinstance(seconds, int | float)
        for mapping in (outputs, stored):
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise ValueError("an entry's outputs are not names and digests")
        return cls(key, float(when), float(seconds), dict(outputs), dict(stored))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class State:
    """What one state file holds: the last few successes and the newest one's parts."""

    identity: dict[str, str]  # task, module, env: a file of another is foreign
    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    entries: list[Entry] = field(default_factory=list)  # newest first
    parts: dict[str, Any] | None = None  # of entries[0], for --explain

    def find(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


class StateFile:
    """.gotasks/state/... for one (env, module, task): read whole, written atomically under
    a lock; damage is a miss and one warning, the file set aside, never a failed run."""

    def __init__(self, path: Path, identity: dict[str, str]) -> None:
        self.path = path
        self.identity = identity

    def load(self) -> State:
        try:
            raw = read_regular_bytes(self.path)
        except FileNotFoundError:
            return State(dict(self.identity))
        except OSError as error:
            return self._damaged(error.strerror or str(error))
        try:
            return self._parse(json.loads(raw))
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            return self._damaged(str(error) if isinstance(error, _Foreign) else "not a state file")

    def _parse(self, doc: Any) -> State:
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise _Foreign("not a gotasks state file")
        if doc.get("schema") != SCHEMA:
            return State(dict(self.identity))  # an older gotasks' record: a plain miss
        if doc.get("identity") != self.identity:
            raise _Foreign(f"the state of another task ({doc.get('identity')})")
        salt, parts, entries = doc.get("salt"), doc.get("parts"), doc.get("entries")
        if not isinstance(salt, str) or not salt or not isinstance(entries, list):
            raise _Foreign("a damaged state file")
        if parts is not None and not isinstance(parts, dict):
            raise _Foreign("a damaged state file")
        return State(dict(self.identity), salt, [Entry.from_json(e) for e in entries], parts)

    def _damaged(self, reason: str) -> State:
        set_aside(self.path, f"{reason}; taken as not up to date", unmoved="ignored")
        return State(dict(self.identity))

    def record(self, entry: Entry, parts: dict[str, Any], salt: str) -> list[Entry]:
        """Put `entry` first (replacing one of the same key), keep KEEP_ENTRIES, write; the
        entries that fell out are returned (their stored copies can go)."""
        with locked_beside(self.path):
            current = self._quiet_load()
            if current.salt != salt:
                # Another run started this file afresh since we read it: our key's hidden
                # values were made with our salt, so this file becomes ours.
                current = State(dict(self.identity), salt)
            rest = [e for e in current.entries if e.key != entry.key]
            kept, dropped = [entry, *rest][:KEEP_ENTRIES], rest[KEEP_ENTRIES - 1 :]
            doc = {
                "format": STATE_FORMAT,
                "schema": SCHEMA,
                "identity": self.identity,
                "salt": salt,
                "entries": [e.to_json() for e in kept],
                "parts": parts,
            }
            atomic_write_text(self.path, json.dumps(doc, indent=0, sort_keys=True) + "\n")
        return dropped

    def _quiet_load(self) -> State:
        try:
            return self._parse(json.loads(read_regular_bytes(self.path)))
        except (OSError, ValueError, RecursionError):
            return State(dict(self.identity))


class _Foreign(ValueError):
    pass


# -- what a skipped task returns ----------------------------------------------------------------


@dataclass(frozen=True)
class UpToDate:
    """A task body's result when it skipped its work: the scheduler reports it as
    `uptodate` (a zero-length slice, no duration sample for the history)."""

    passed: float  # unix time of the success it stands on
    saved: float  # seconds that run took


def when_text(unix: float, now: float | None = None) -> str:
    """17:13 today, else 2026-11-29 17:13."""
    moment, today = time.localtime(unix), time.localtime(now or time.time())
    if moment[:3] == today[:3]:
        return time.strftime("%H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)
