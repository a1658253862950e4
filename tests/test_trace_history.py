"""Tests of engine.history (.gotasks/history.json) and engine.trace (Chrome traces)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.history import WINDOW, Estimate, History, Sample, TaskRecord
from gotasks.engine.trace import CPU_TRACK, MEMORY_TRACK, critical_path, write_trace

SOURCE = Path(__file__).resolve().parents[1]
MIB = 1024**2


def rec(
    name: str,
    start: float = 0.0,
    end: float = 1.0,
    *,
    status: str = "ok",
    slot: int = 0,
    pool: str | None = None,
    peak_rss: int = 100 * MIB,
    cpu_seconds: float = 0.5,
    deps: tuple[str, ...] = (),
) -> TaskRecord:
    return TaskRecord(
        name=name,
        status=status,
        start=start,
        end=end,
        slot=slot,
        pool=pool,
        cpu_claim=1.0,
        mem_claim=512 * MIB,
        peak_rss=peak_rss,
        cpu_seconds=cpu_seconds,
        deps=deps,
    )


# --- history -------------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / ".gotasks" / "history.json"
    history = History.load(path)
    assert history.estimate("lint") is None
    history.record([rec("lint", 0.0, 2.0, peak_rss=300 * MIB, cpu_seconds=3.0)])
    history.save(path)

    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["runs"] == 1
    # [the run that last measured it, [durations], [peak_rss], [cpu_seconds]]
    assert doc["tasks"]["lint"] == [1, [2.0], [300 * MIB], [3.0]]
    assert History.load(path).estimate("lint") == Estimate(
        duration=2.0, peak_rss=300 * MIB, cpus=1.5
    )
    # Nothing left behind but the lock file (kept: deleting it would race with other runs).
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.json", "history.json.lock"]


@pytest.mark.parametrize("content", ["", "  \n"])
def test_empty_file_is_empty_history(tmp_path: Path, content: str) -> None:
    path = tmp_path / "history.json"
    path.write_text(content)
    assert History.load(path).names() == []
    assert not (tmp_path / "history.json.corrupt").exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"version": 1, "tasks": []}', "\xff\xfe"],
)
def test_corrupt_file_is_kept_aside(tmp_path: Path, content: str) -> None:
    path = tmp_path / "history.json"
    path.write_text(content, encoding="latin-1")
    history = History.load(path)
    assert history.names() == []
    assert (tmp_path / "history.json.corrupt").read_text(encoding="latin-1") == content
    assert not path.exists()

    history.record([rec("build")])
    history.save(path)
    assert History.load(path).names() == ["build"]
    assert (tmp_path / "history.json.corrupt").read_text(encoding="latin-1") == content


def test_unknown_version_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    sample = {"duration": 1.0, "peak_rss": 1, "cpu_seconds": 1.0}
    path.write_text(json.dumps({"version": 3, "tasks": {"lint": [sample]}}))
    assert History.load(path).names() == []
    assert not (tmp_path / "history.json.corrupt").exists()


def test_the_old_format_is_read_and_written_in_the_new(tmp_path: Path) -> None:
    # Version 1 (an object per sample, "seen" beside "tasks"): a history kept before this
    # gotasks keeps its estimates and its ages, and the next save writes version 2.
    path = tmp_path / "history.json"
    old = {"duration": 2.0, "peak_rss": 5 * MIB, "cpu_seconds": 1.0}
    doc = {"version": 1, "runs": 7, "seen": {"lint": 3}, "tasks": {"lint": [old, old]}}
    path.write_text(json.dumps(doc))
    history = History.load(path)
    assert history.estimate("lint") == Estimate(duration=2.0, peak_rss=5 * MIB, cpus=0.5)
    assert not (tmp_path / "history.json.corrupt").exists()
    history.record([rec("build")])
    history.save(path)
    new = json.loads(path.read_text())
    assert new["version"] == 2 and new["runs"] == 8
    assert new["tasks"]["lint"] == [3, [2.0, 2.0], [5 * MIB, 5 * MIB], [1.0, 1.0]]
    assert new["tasks"]["build"][0] == 8


@pytest.mark.parametrize(
    "entry",
    [
        [1, [1.0], [1], [1.0, 2.0]],  # columns of different lengths
        [1, [1.0], [1]],  # a column missing
        [1, "1.0", [1], [1.0]],  # not a list
        [1, [1.0], [1], [float("nan")]],  # NaN (json reads it)
        [1, [1.0], [1], [float("inf")]],
        [1, [-1.0], [1], [1.0]],
        [1, [1.0], [2**51], [1.0]],  # a peak over 1 PiB
        [1, [True], [1], [1.0]],  # a bool is not a number here
        [1, [1.0], [None], [1.0]],
        "nope",
    ],
)
def test_damaged_columns_are_set_aside_with_one_warning(
    tmp_path: Path, entry: object, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.json"
    good = [1, [1.0, 3.0], [1, 2], [0.5, 0.5]]
    path.write_text(json.dumps({"version": 2, "runs": 1, "tasks": {"good": good, "bad": entry}}))
    history = History.load(path)
    assert history.names() == ["good"]  # the sound task is kept, never a crash
    assert [s.duration for s in history.samples("good")] == [1.0, 3.0]
    assert (tmp_path / "history.json.corrupt").exists() and not path.exists()
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_sound_samples_of_a_damaged_task_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    entry = [1, [1.0, -1.0, 4.0], [1, 1, 2.0], [0.5, 0.5, 0.5]]  # a float peak is sound
    path.write_text(json.dumps({"version": 2, "runs": 1, "tasks": {"a": entry}}))
    assert History.load(path).samples("a") == [(1.0, 1, 0.5), (4.0, 2, 0.5)]


def test_a_full_window_of_many_tasks_round_trips(tmp_path: Path) -> None:
    # The fast path (a C check per column) against the sample-at-a-time reading: the same
    # estimates after a save and a load, for tasks of every shape of sample.
    path = tmp_path / "history.json"
    history = History()
    for i in range(300):
        for j in range(WINDOW + i % 3):
            duration = (i * 7 + j * 13) % 50 / 10
            name = f"t{i}" if i % 50 else f't{i}], "odd\n'  # a line per task, whatever its name
            history.add(name, Sample(duration, (i + j) * MIB, duration * (j % 4) / 2))
    history.save(path)
    loaded = History.load(path)
    assert loaded.names() == history.names()
    for name in history.names():
        assert loaded.samples(name) == history.samples(name)
        assert len(loaded.samples(name)) == WINDOW
        assert loaded.estimate(name) == history.estimate(name)
    assert not (tmp_path / "history.json.corrupt").exists()


def test_malformed_samples_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    good = {"duration": 1.0, "peak_rss": 1, "cpu_seconds": 1.0}
    tasks = {"a": [good, {"duration": "1s"}, 3, {**good, "peak_rss": -1}], "b": "nope"}
    path.write_text(json.dumps({"version": 1, "tasks": tasks}))
    history = History.load(path)
    assert history.names() == ["a"]
    assert len(history.samples("a")) == 1
    # A damaged file is set aside for a look; its sound sample goes into the next save.
    assert (tmp_path / "history.json.corrupt").exists() and not path.exists()
    history.save(path)
    assert len(History.load(path).samples("a")) == 1


def test_only_ok_failed_and_killed_runs_count(tmp_path: Path) -> None:
    history = History()
    history.record(
        [
            rec("ok", status="ok"),
            rec("failed", status="failed"),
            rec("killed", status="killed"),  # its peak is real: learn it
            *(rec(s, status=s) for s in ("skipped", "timeout", "interrupted")),
        ]
    )
    assert history.names() == ["failed", "killed", "ok"]
    path = tmp_path / "history.json"
    history.save(path)
    assert sorted(json.loads(path.read_text())["tasks"]) == ["failed", "killed", "ok"]


def test_keeps_the_last_ten_samples(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    for run in range(WINDOW + 5):
        history = History.load(path)
        history.record([rec("test", 0.0, float(run + 1))])
        history.save(path)
    durations = [s.duration for s in History.load(path).samples("test")]
    assert WINDOW == 10
    assert durations == [float(d) for d in range(6, 16)]


def test_estimate_takes_the_median_duration() -> None:
    history = History()
    history.record([rec("test", 0.0, d, cpu_seconds=2 * d) for d in (10, 11, 12, 100, 9)])
    estimate = history.estimate("test")
    assert estimate is not None
    assert estimate.duration == 11.0  # one slow outlier (100s) does not move it
    assert estimate.cpus == 2.0


def test_estimate_does_not_underestimate_growing_memory() -> None:
    history = History()
    history.record([rec("build", peak_rss=m * MIB) for m in (100, 110, 120, 130, 400)])
    estimate = history.estimate("build")
    assert estimate is not None
    assert estimate.peak_rss == 400 * MIB  # the median (120M) would be too low

    history = History()
    history.record([rec("build", peak_rss=m * MIB) for m in (400, 410, 405, 100)])
    estimate = history.estimate("build")
    assert estimate is not None
    assert estimate.peak_rss == int(402.5 * MIB)  # one small run does not shrink the claim


def test_estimate_cpus_has_a_floor() -> None:
    history = History()
    history.record([rec("sleep", 0.0, 5.0, cpu_seconds=0.0), rec("noop", 0.0, 0.0)])
    for name in ("sleep", "noop"):
        estimate = history.estimate(name)
        assert estimate is not None
        assert estimate.cpus == 0.1


def test_save_merges_what_another_run_wrote(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    first, second = History.load(path), History.load(path)
    first.record([rec("lint", 0.0, 1.0)])
    second.record([rec("test", 0.0, 2.0)])
    first.save(path)
    second.save(path)
    merged = History.load(path)
    assert merged.names() == ["lint", "test"]
    assert len(merged.samples("lint")) == 1  # not doubled by a second save of the same run
    assert second.names() == ["lint", "test"]  # save leaves the instance up to date

    second.save(path)
    assert len(History.load(path).samples("test")) == 1


def test_a_save_merges_from_memory_only_while_nobody_else_wrote_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.json"
    seed = History()
    seed.record([rec("lint", 0.0, 1.0), rec("test", 0.0, 2.0)])
    seed.save(path)
    first, second = History.load(path), History.load(path)
    first.record([rec("lint", 0.0, 3.0)])
    first.save(path)  # nobody wrote it since its load
    second.record([rec("test", 0.0, 4.0)])
    second.save(path)  # first did: what it wrote must not be lost
    after = History.load(path)
    assert [s.duration for s in after.samples("lint")] == [1.0, 3.0]
    assert [s.duration for s in after.samples("test")] == [2.0, 4.0]
    doc = json.loads(path.read_text())
    assert doc["runs"] == 3
    assert {name: entry[0] for name, entry in doc["tasks"].items()} == {"lint": 2, "test": 3}
    # A line per task: a monorepo's history stays readable and diffable.
    lines = path.read_text().splitlines()
    assert sum(line.startswith(' "lint": [2, [') for line in lines) == 1
    assert len(lines) == 2 + 2


@pytest.mark.e2e  # several Python processes at once: seconds, not milliseconds
def test_concurrent_saves_from_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.json"
    # Every process loads before any has saved, then saves several times: without the lock
    # and the merge, the last writer would drop what the others wrote.
    script = textwrap.dedent(
        """
        import sys, time
        from gotasks.engine.history import History, TaskRecord
        path, worker, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
        history = History.load(path)
        while time.time() < start_at:
            time.sleep(0.001)
        for i in range(5):
            name = f"test[w{worker}/{i}]"
            history.record([TaskRecord(name, "ok", 0.0, 1.0, 0, None, 1.0, 1, 1, 1.0, ())])
            history.save(path)
        """
    )
    start_at = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(w), str(start_at)],
            cwd=SOURCE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(6)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    expected = sorted(f"test[w{w}/{i}]" for w in range(6) for i in range(5))
    assert History.load(path).names() == expected
    assert not (path.parent / "history.json.corrupt").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.json", "history.json.lock"]


# --- trace ---------------------------------------------------------------------------------


def diamond() -> list[TaskRecord]:
    """a -> b, a -> c, (b, c) -> d; c finishes after b, so d waited for c."""
    return [
        rec("a", 0.0, 1.0, slot=0),
        rec("b", 1.0, 2.5, slot=0, deps=("a",), pool="go"),
        rec("c", 1.0, 4.0, slot=1, deps=("a",)),
        rec("d", 4.0, 4.25, slot=0, deps=("b", "c"), status="failed"),
    ]


def load_trace(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_critical_path_follows_the_dependency_that_finished_last() -> None:
    assert critical_path(diamond()) == ["a", "c", "d"]
    assert critical_path([]) == []
    # Deps that are not among the records (nothing recorded for them) are ignored.
    assert critical_path([rec("x", 0, 1, deps=("gone",)), rec("y", 0, 0.5)]) == ["x"]
    # A self-reference in the data must not hang.
    assert critical_path([rec("z", deps=("z",))]) == ["z"]


def test_trace_has_one_complete_event_per_record(tmp_path: Path) -> None:
    path = tmp_path / "out" / "trace.json"
    records = diamond()
    write_trace(path, records, [], 1_700_000_000.0, {"command": "inv ci"})
    doc = load_trace(path)
    assert doc["displayTimeUnit"] == "ms"
    assert doc["otherData"]["command"] == "inv ci"
    assert doc["otherData"]["run_start"] == "2023-11-14T22:13:20.000Z"

    complete = {e["name"]: e for e in doc["traceEvents"] if e["ph"] == "X"}
    assert sorted(complete) == ["a", "b", "c", "d"]
    assert len([e for e in doc["traceEvents"] if e["ph"] == "X"]) == len(records)
    for r in records:
        event = complete[r.name]
        assert event["pid"] == 1
        assert event["tid"] == r.slot + 1
        assert event["ts"] == round(r.start * 1_000_000)
        assert event["dur"] == round((r.end - r.start) * 1_000_000)
        assert event["args"]["status"] == r.status
        assert event["args"]["deps"] == list(r.deps)
    assert complete["d"]["ts"] == 4_000_000 and complete["d"]["dur"] == 250_000
    assert complete["b"]["cat"] == "go" and complete["a"]["cat"] == "task"
    args = complete["b"]["args"]
    assert args["pool"] == "go"
    assert args["mem_claim"] == 512 * MIB and args["mem_claim_human"] == "512M"
    assert args["peak_rss"] == 100 * MIB and args["cpu_seconds"] == 0.5
    assert args["cpu_claim"] == 1.0


def test_trace_marks_the_critical_path(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    write_trace(path, diamond(), [], 0.0, {})
    complete = {e["name"]: e for e in load_trace(path)["traceEvents"] if e["ph"] == "X"}
    assert {n for n, e in complete.items() if e["args"]["critical"]} == {"a", "c", "d"}
    assert complete["b"]["args"]["critical"] is False


def test_trace_names_the_process_and_each_slot(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    write_trace(path, diamond(), [], 0.0, {})
    meta = [e for e in load_trace(path)["traceEvents"] if e["ph"] == "M"]
    process = [e for e in meta if e["name"] == "process_name"]
    assert [(e["pid"], e["args"]["name"]) for e in process] == [(1, "gotasks")]
    threads = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    assert threads == {1: "slot 1", 2: "slot 2"}


def test_trace_counters_on_both_tracks(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    counters = [(0.5, 37.5, 512 * MIB), (1.0, 80.0, 1536 * MIB), (0.0, 0.0, 0)]
    write_trace(path, diamond(), counters, 0.0, {})
    events = [e for e in load_trace(path)["traceEvents"] if e["ph"] == "C"]
    cpu = [(e["ts"], *e["args"].values()) for e in events if e["name"] == CPU_TRACK]
    mem = [(e["ts"], *e["args"].values()) for e in events if e["name"] == MEMORY_TRACK]
    assert cpu == [(0, 0.0), (500_000, 37.5), (1_000_000, 80.0)]
    assert mem == [(0, 0.0), (500_000, 512.0), (1_000_000, 1536.0)]
    assert all(e["pid"] == 1 for e in events)


def test_trace_write_is_atomic_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_text("old")
    write_trace(path, [], [], 0.0, {})
    doc = load_trace(path)
    assert [e["name"] for e in doc["traceEvents"]] == ["process_name"]
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0ms"),
        (0.85, "850ms"),
        (0.9996, "1.0s"),
        (12.34, "12.3s"),
        (59.97, "1m00s"),
        (125.0, "2m05s"),
        (3725.0, "1h02m"),
        (-1.0, "0ms"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (512, "512B"),
        (12 * 1024, "12K"),
        (512 * MIB, "512M"),
        (1024 * MIB, "1G"),
        (1536 * MIB, "1.5G"),
        (1024 * MIB - 1, "1G"),
        (int(9.97 * 1024**3), "10G"),
        (3 * 1024**4, "3T"),
        (5000 * 1024**4, "5000T"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text
