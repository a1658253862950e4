"""History export and import: validated, atomic, merged without doubling samples."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project

from gotasks.core.errors import UsageError
from gotasks.engine.history import WINDOW, History, Sample, history_text, merge_into
from gotasks.historyio import read_export


def sample(seconds: float) -> Sample:
    return Sample(duration=seconds, peak_rss=1000, cpu_seconds=seconds / 2)


def test_importing_adds_what_is_new_and_never_doubles_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(history_text({"a": [sample(1), sample(2)], "b": [sample(5)]}))
    added, already = merge_into(path, {"a": [sample(2), sample(3)], "c": [sample(4)]})
    assert (added, already) == (2, 1)
    history = History.load(path)
    assert [s.duration for s in history.samples("a")] == [1, 2, 3]
    assert [s.duration for s in history.samples("b")] == [5]
    assert [s.duration for s in history.samples("c")] == [4]
    # the same file again, or our own export: nothing changes
    before = path.read_text()
    assert merge_into(path, {"a": [sample(2), sample(3)], "c": [sample(4)]}) == (0, 3)
    assert path.read_text() == before
    # two equal samples measured twice are two samples
    assert merge_into(path, {"b": [sample(5), sample(5)]}) == (1, 1)


def test_an_import_keeps_the_newest_window(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    merge_into(path, {"a": [sample(i) for i in range(WINDOW + 5)]})
    kept = History.load(path).samples("a")
    assert [s.duration for s in kept] == list(range(5, WINDOW + 5))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "x.json:1: not a gotasks history: not JSON"),
        ("[]", "not a gotasks history (inv history.export writes one)"),
        ('{"version": 7, "tasks": {}}', "history version 7"),
        ('{"version": 1, "tasks": {"t": 3}}', "tasks['t']: expected a list"),
        (
            '{"version": 1, "tasks": {"t": [{"duration": 1, "peak_rss": 0, "cpu_seconds": 0},'
            ' {"duration": "slow"}]}}',
            "tasks['t'][1]: not a sample",
        ),
        ('{"version": 1, "tasks": {"t": [{"duration": 1e309}]}}', "tasks['t'][0]"),
        ('{"version": 2, "tasks": {"t": [1, [1.0], [1]]}}', "tasks['t']: expected [run,"),
        ('{"version": 2, "tasks": {"t": [1, [1.0, 2.0], [1], [0.5]]}}', "of one length"),
        ('{"version": 2, "tasks": {"t": [1, [1.0, -2.0], [1, 1], [0, 0]]}}', "tasks['t'][1]"),
        ('{"version": 2, "tasks": {"t": [1, [NaN], [1], [0]]}}', "tasks['t'][0]"),
    ],
)
def test_a_file_that_is_not_an_export_is_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        read_export(path)
    assert says in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.e2e
def test_history_travels_to_another_checkout_and_plans_its_shards(
    make_project: Callable[..., Project],
) -> None:
    first, second = make_project(name="ci1"), make_project(name="ci2")
    out = first.inv("test")
    assert out.returncode == 0, out.stderr
    out = first.inv("history.export", "cache/history.json")
    assert out.returncode == 0, out.stderr
    exported = first.root / "cache/history.json"
    names = json.loads(exported.read_text())["tasks"]
    assert "test[hello] ./stats" in names  # per-package durations travel too
    out = second.inv("history.import", str(exported))
    assert out.returncode == 0, out.stderr
    plan = second.inv("shard.plan", "--shards=2", "--tasks=test")
    assert plan.returncode == 0, plan.stderr
    units = [u for s in json.loads(plan.stdout)["shards"] for u in s["units"]]
    assert len(units) == 4 and all(u["learned"] for u in units)

    # a bad file: one line, exit 2, the history as it was
    def learned() -> dict[str, object]:
        doc = json.loads((second.root / ".gotasks/history.json").read_text())
        # the failed import's own run is measured, as every task's is
        return {k: v for k, v in doc["tasks"].items() if k != "history.import"}

    before = learned()
    second.write("bad.json", '{"version": 1, "tasks": {"x": [{"duration": -1}]}}')
    out = second.inv("history.import", "bad.json")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "bad.json: tasks['x'][0]: not a sample" in out.stderr
    assert learned() == before
