"""The pure core, tested directly (no inv, no go): config merge, schema validation, units,
cancellation. Each test is milliseconds; together they belong to the quick loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gotasks.core import cancel
from gotasks.core.errors import Stopped, UsageError
from gotasks.core.schema import Items, Section, Value, matches, validate
from gotasks.core.undo import Undo
from gotasks.core.units import format_bytes, format_duration, format_size
from gotasks.core.yamlconf import Document, load, merge


def doc(tmp_path: Path, name: str, text: str) -> Document:
    path = tmp_path / name
    path.write_text(text)
    return load(path, f"config/{name}", environ={})


# --- config merge ---------------------------------------------------------------------


def test_merge_mappings_key_by_key_and_replaces_lists_and_scalars(tmp_path: Path) -> None:
    base = doc(
        tmp_path,
        "base.yaml",
        "go:\n  env:\n    GOPROXY: a\n    GOFLAGS: -mod=mod\n  tags: [x, y]\njobs: 2\n",
    )
    over = doc(tmp_path, "prod.yaml", "go:\n  env:\n    GOPROXY: b\n  tags: [z]\n")
    merged = merge(base, over)
    assert merged.data == {
        "go": {"env": {"GOPROXY": "b", "GOFLAGS": "-mod=mod"}, "tags": ["z"]},
        "jobs": 2,
    }


def test_merge_names_the_file_each_value_came_from(tmp_path: Path) -> None:
    base = doc(
        tmp_path, "base.yaml", "go:\n  env:\n    GOPROXY: a\n    GOFLAGS: x\n  tags: [x, y]\n"
    )
    over = doc(tmp_path, "prod.yaml", "\ngo:\n  env:\n    GOPROXY: b\n  tags: [z]\n")
    merged = merge(base, over)
    assert merged.where(("go", "env", "GOPROXY")) == "config/prod.yaml:4"
    assert merged.where(("go", "env", "GOFLAGS")) == "config/base.yaml:4"
    # A replaced list: its items are the new file's, none of the old one's is left.
    assert merged.where(("go", "tags", 0)) == "config/prod.yaml:5"
    assert ("go", "tags", 1) not in merged.origins


def test_merge_an_emptied_section_changes_nothing(tmp_path: Path) -> None:
    base = doc(tmp_path, "base.yaml", "build:\n  cgo: true\n")
    over = doc(tmp_path, "dev.yaml", "build:\n  # cgo: false\n")
    assert merge(base, over).data == {"build": {"cgo": True}}


def test_merge_leaves_both_inputs_alone(tmp_path: Path) -> None:
    base = doc(tmp_path, "base.yaml", "a:\n  b: 1\n")
    over = doc(tmp_path, "dev.yaml", "a:\n  c: 2\n")
    merge(base, over)
    assert base.data == {"a": {"b": 1}} and over.data == {"a": {"c": 2}}


# --- schema validation ----------------------------------------------------------------

SPEC = Section(
    {
        "jobs": Value("integer", 0),
        "name": Value("string", "x", check=matches(r"[a-z]+", "a lower-case name")),
        "tags": Value("list of strings", []),
        "pools": Value("mapping of names to integers", {}),
        "memory": Value("number or string", None, nullable=True),
        "build": Section({"cgo": Value("boolean", False)}),
        "rules": Items(
            Section({"when": Value("string", ""), "tags": Value("list of strings", [])}),
            required=("when",),
        ),
    }
)


def test_validate_fills_every_default_and_keeps_given_values(tmp_path: Path) -> None:
    checked = validate(SPEC, doc(tmp_path, "dev.yaml", "jobs: 3\nbuild: {}\n"))
    assert checked == {
        "jobs": 3,
        "name": "x",
        "tags": [],
        "pools": {},
        "memory": None,
        "build": {"cgo": False},
        "rules": [],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: two\n", "config/dev.yaml:1: jobs: expected an integer, got string 'two'"),
        ("jobs: true\n", "config/dev.yaml:1: jobs: expected an integer, got bool True"),
        ("\ntags: [a, 3]\n", "config/dev.yaml:2: tags[1]: expected a string, got int 3"),
        ("pools:\n  test: x\n", "config/dev.yaml:2: pools.test: expected an integer"),
        ("name: Big\n", "config/dev.yaml:1: name: 'Big' is not a lower-case name"),
        ("build:\n  cgo: 1\n", "config/dev.yaml:2: build.cgo: expected a boolean, got int 1"),
        ("memory: .inf\n", "config/dev.yaml:1: memory: expected a number or string"),
        ("rules:\n  - tags: [a]\n", "config/dev.yaml:2: rules[0]: missing 'when'"),
        ("tags: off\n", "expected a list of strings, got bool False"),
    ],
)
def test_validate_names_file_line_and_key_of_a_wrong_value(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        validate(SPEC, doc(tmp_path, "dev.yaml", text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_validate_suggests_the_key_meant(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        validate(SPEC, doc(tmp_path, "dev.yaml", "build:\n  cog: true\n"))
    assert "config/dev.yaml:2" in str(caught.value)
    assert "unknown key 'build.cog' (did you mean 'build.cgo'?)" in str(caught.value)


# --- units ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0ms"),
        (0.85, "850ms"),
        (12.34, "12.3s"),
        (59.96, "1m00s"),
        (125, "2m05s"),
        (3720, "1h02m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -3.0])
def test_format_duration_shows_a_broken_clock_as_zero(bad: float) -> None:
    assert format_duration(bad) == "0ms"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1K"),
        (1536 * 1024**2, "1.5G"),
        (512 * 1024**2, "512M"),
        (1023 * 1024**2 + 1023 * 1024, "1G"),
    ],
)
def test_format_bytes_in_the_units_mem_accepts(n: int, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize(
    ("n", "text"), [(102, "102 B"), (9_400, "9.4 KB"), (24_400_000, "24.4 MB"), (2e9, "2.0 GB")]
)
def test_format_size_in_powers_of_1000(n: float, text: str) -> None:
    assert format_size(n) == text


# --- cancellation ---------------------------------------------------------------------


class Source:
    """A stop source as the engine's TaskProcesses is one."""

    def __init__(self) -> None:
        self.stop_reason: str | None = None
        self.watchers: list[Callable[[], None]] = []

    def watch_stop(self, callback: Callable[[], None]) -> bool:
        if self.stop_reason is not None:
            return False
        self.watchers.append(callback)
        return True

    def unwatch_stop(self, callback: Callable[[], None]) -> None:
        self.watchers.remove(callback)

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        for callback in list(self.watchers):
            callback()


def test_check_stop_does_nothing_outside_a_run() -> None:
    cancel.bind(None)
    cancel.check_stop()
    with cancel.on_stop(lambda: pytest.fail("called outside a run")):
        pass


def test_check_stop_raises_the_reason_of_this_threads_source_only() -> None:
    source = Source()
    cancel.bind(source)
    try:
        cancel.check_stop()
        source.stop("timeout after 5s")
        with pytest.raises(Stopped, match="timeout after 5s"):
            cancel.check_stop()
        other: list[BaseException] = []

        def elsewhere() -> None:
            try:
                cancel.check_stop()  # another thread is bound to nothing
            except Stopped as error:
                other.append(error)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert other == []
    finally:
        cancel.bind(None)


def test_on_stop_calls_back_when_stopped_inside_the_block_and_forgets_it_after() -> None:
    source, calls = Source(), []
    cancel.bind(source)
    try:
        with cancel.on_stop(lambda: calls.append("closed")):
            source.stop("interrupted")
        assert calls == ["closed"] and source.watchers == []
        # Already stopped when the block starts: called at once.
        with cancel.on_stop(lambda: calls.append("again")):
            pass
        assert calls == ["closed", "again"]
    finally:
        cancel.bind(None)


def test_a_stop_signal_stops_work_outside_any_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cancel, "_signalled", lambda: True)
    cancel.bind(None)
    with pytest.raises(Stopped, match="interrupted"):
        cancel.check_stop()


# -- undo (the one mechanism behind the SDK installer's rollback and inv init's) -------------


def test_undo_takes_back_last_first_and_goes_on_after_a_failed_step(tmp_path: Path) -> None:
    folder = tmp_path / "made"
    folder.mkdir()
    made = folder / "file"
    made.write_text("x")
    undo = Undo()
    undo.push(f"removed {folder}", folder.rmdir)  # only works once the file is gone
    undo.push("a step that fails", lambda: (tmp_path / "absent").unlink())
    undo.push(f"removed {made}", made.unlink)
    done = undo.rollback()
    assert [what for what, _ in done] == [
        f"removed {made}",
        "a step that fails",
        f"removed {folder}",
    ]
    assert [error is None for _, error in done] == [True, False, True]
    assert isinstance(done[1][1], FileNotFoundError)
    assert not folder.exists()
    assert undo.rollback() == []  # each step runs once


def test_undo_kept_takes_nothing_back(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.write_text("x")
    undo = Undo()
    undo.push(f"removed {kept}", kept.unlink)
    undo.keep()
    assert undo.rollback() == []
    assert kept.exists()
