"""`inv history.export FILE` / `inv history.import FILE`: the learned durations carried
between machines (a CI cache), so that every CI run plans its shards from the last ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import settings_of
from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.core.files import atomic_write_text, naming, read_regular_text
from gotasks.engine import task
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.engine.historyfile import Sample


def _history_path(c: Context) -> Path:
    return state_dir(settings_of(c.config).root) / "history.json"


@task(
    cpu=0.1,
    mem="64M",
    needs=("settings",),
    positional=["file"],
    help={"file": "the file to write (replaced whole, atomically)"},
)
def export(c: Context, file: str | None = None) -> None:
    """Write this project's history (what past runs took) to FILE, for a CI cache."""
    from gotasks.engine.history import History, history_text

    assert file is not None
    history = History.load(_history_path(c))
    samples = {name: history.samples(name) for name in history.names()}
    target = Path(file)
    with naming(target):
        atomic_write_text(target, history_text(samples))
    count = sum(map(len, samples.values()))
    console.info(f"history: {len(samples)} names, {count} samples -> {target}")


@task(
    name="import",
    cpu=0.1,
    mem="64M",
    needs=("settings",),
    positional=["file"],
    help={"file": "a file written by inv history.export"},
)
def import_(c: Context, file: str | None = None) -> None:
    """Merge FILE (from inv history.export) into this project's history: samples it does
    not hold yet are added, the newest kept."""
    from gotasks.engine.history import merge_into

    assert file is not None
    incoming = read_export(Path(file))
    target = _history_path(c)
    added, already = merge_into(target, incoming)
    console.info(
        f"history: {added} samples added from {file} ({already} already here;"
        f" {len(incoming)} names) -> {target}"
    )


def read_export(path: Path) -> dict[str, list[Sample]]:
    """The samples in an exported history; a file that is not one is one line (exit 2)
    naming the file and the entry, and nothing is imported from it."""
    from gotasks.engine.historyfile import (
        FORMAT_VERSION,
        OLD_FORMAT_VERSION,
        sample_from_json,
        sound_sample,
        triples,
    )

    try:
        text = read_regular_text(path)
    except FileNotFoundError:
        raise UsageError(f"history.import: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"history.import: {path}: cannot read it: {error}") from None
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}:{error.lineno}: not a gotasks history: not JSON ({error.msg})"
        ) from None
    except RecursionError:
        raise UsageError(f"{path}: not a gotasks history: nested too deep") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), dict):
        raise UsageError(f"{path}: not a gotasks history (inv history.export writes one)")
    version = doc.get("version")
    if version not in (FORMAT_VERSION, OLD_FORMAT_VERSION):
        raise UsageError(
            f"{path}: history version {version!r}; this gotasks reads versions"
            f" {OLD_FORMAT_VERSION} and {FORMAT_VERSION}"
        )
    samples: dict[str, list[Sample]] = {}
    for name, entry in doc["tasks"].items():
        if version == OLD_FORMAT_VERSION:
            if not isinstance(entry, list):
                raise UsageError(f"{path}: tasks[{name!r}]: expected a list of samples")
            listed = [sample_from_json(e) for e in entry]
        else:
            found = triples(*entry[1:]) if isinstance(entry, list) and len(entry) == 4 else None
            if found is None:
                raise UsageError(
                    f"{path}: tasks[{name!r}]: expected [run, [durations], [peak_rss],"
                    " [cpu_seconds]], the three lists of one length"
                )
            listed = [sound_sample(*t) for t in found]
        for i, sample in enumerate(listed):
            if sample is None:
                raise UsageError(
                    f"{path}: tasks[{name!r}][{i}]: not a sample (duration, peak_rss and"
                    " cpu_seconds, numbers from 0 up)"
                )
            samples.setdefault(name, []).append(sample)
    return samples


def collection() -> Collection:
    history = Collection("history")
    history.add_task(export)
    history.add_task(import_)
    return history
