"""Merging the shards' outputs (pure): Go coverage profiles as gocovmerge merges them, JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gotasks.core.errors import UsageError
from gotasks.engine.trace import wall_seconds
from gotasks.go import junitmerge
from gotasks.go.covermerge import Profile, merge_files, parse_into


def profile(path: Path, mode: str, *blocks: str) -> Path:
    path.write_text(f"mode: {mode}\n" + "".join(b + "\n" for b in blocks))
    return path


def test_set_profiles_or_their_blocks_and_keep_the_mode_line_once(tmp_path: Path) -> None:
    a = profile(tmp_path / "a.out", "set", "m/x.go:1.1,3.2 2 1", "m/x.go:4.1,5.2 3 0")
    b = profile(tmp_path / "b.out", "set", "m/x.go:4.1,5.2 3 1", "m/x.go:1.1,3.2 2 0")
    c = profile(tmp_path / "c.out", "set", "m/y.go:1.1,2.2 4 0")
    merged = merge_files([a, b, c])
    assert merged is not None
    assert merged.text() == (
        "mode: set\nm/x.go:1.1,3.2 2 1\nm/x.go:4.1,5.2 3 1\nm/y.go:1.1,2.2 4 0\n"
    )
    assert merged.statements() == (5, 9)


@pytest.mark.parametrize("mode", ["count", "atomic"])
def test_count_and_atomic_profiles_sum_their_counts(tmp_path: Path, mode: str) -> None:
    a = profile(tmp_path / "a.out", mode, "m/x.go:1.1,3.2 2 5", "m/x.go:4.1,5.2 3 0")
    b = profile(tmp_path / "b.out", mode, "m/x.go:1.1,3.2 2 7")
    merged = merge_files([a, b])
    assert merged is not None
    assert merged.blocks[("m/x.go", 1, 1, 3, 2)] == (2, 12)
    assert merged.statements() == (2, 5)


def test_the_same_block_twice_in_one_profile_counts_once(tmp_path: Path) -> None:
    merged = merge_files(
        [profile(tmp_path / "a.out", "set", "x.go:1.1,2.2 2 0", "x.go:1.1,2.2 2 1")]
    )
    assert merged is not None and merged.statements() == (2, 2)


@pytest.mark.parametrize(
    ("texts", "says"),
    [
        (["hello\n"], "a.out:1: not a Go coverage profile"),
        (["mode: set\nx.go:1.1,2.2 two 1\n"], "a.out:2: not a coverage block"),
        (["mode: set\n", "mode: count\n"], "profiles of different modes"),
        (
            ["mode: set\nx.go:1.1,2.2 2 1\n", "mode: set\nx.go:1.1,2.2 3 1\n"],
            "not profiles of the same code",
        ),
    ],
)
def test_what_cannot_be_merged_is_one_line(tmp_path: Path, texts: list[str], says: str) -> None:
    paths = []
    for name, text in zip(["a.out", "b.out"], texts, strict=False):
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    with pytest.raises(UsageError) as caught:
        merge_files(paths)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_parse_into_builds_one_profile_from_texts() -> None:
    merged: Profile | None = None
    for text in ("mode: count\na.go:1.1,1.9 1 1\n", "mode: count\na.go:1.1,1.9 1 2\n"):
        merged = parse_into(merged, text, "x")
    assert merged is not None and merged.blocks[("a.go", 1, 1, 1, 9)] == (1, 3)


def suite(name: str, *cases: str) -> str:
    body = "".join(
        f'<testcase classname="{name}" name="T{i}">{c}</testcase>' for i, c in enumerate(cases)
    )
    return f'<testsuite name="{name}" tests="99" time="1.5">{body}</testsuite>'


def test_junit_files_merge_with_totals_counted_from_the_testcases(tmp_path: Path) -> None:
    one = tmp_path / "one.xml"
    one.write_text(
        f"<testsuites>{suite('a', '', '<failure/>')}{suite('b', '<skipped/>')}</testsuites>"
    )
    two = tmp_path / "two.xml"
    two.write_text(suite("c", "", "<error/>"))
    suites = junitmerge.read_suites(one) + junitmerge.read_suites(two)
    root = junitmerge.merge(suites)
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "5",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
        "time": "4.500",
    }
    assert [s.get("name") for s in root.findall("testsuite")] == ["a", "b", "c"]
    assert junitmerge.failed_cases(suites) == ["a T1", "c T1"]
    ET.fromstring(ET.tostring(root))  # well-formed


def test_a_file_that_is_not_junit_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.xml"
    bad.write_text("<html>")
    with pytest.raises(UsageError, match=r"x\.xml:1: not a JUnit file: not XML"):
        junitmerge.read_suites(bad)
    bad.write_text("<html/>")
    with pytest.raises(UsageError, match="its root is <html>"):
        junitmerge.read_suites(bad)


def test_a_traces_wall_time_is_when_its_last_task_ended() -> None:
    doc = {
        "traceEvents": [
            {"ph": "M", "name": "x"},
            {"ph": "X", "ts": 0, "dur": 1_500_000},
            {"ph": "X", "ts": 1_000_000, "dur": 2_000_000},
            {"ph": "C", "ts": 9_000_000},
        ]
    }
    assert wall_seconds(doc) == 3.0
    assert wall_seconds({"traceEvents": []}) == 0.0
    assert wall_seconds({"kind": "gotasks shard plan"}) is None
