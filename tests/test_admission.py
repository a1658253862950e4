"""Admission arithmetic: claims from declared and learned figures, which jobs start, in
which order, and the chain the summary names as the critical path. Pure code, no inv."""

from __future__ import annotations

import bisect
import random

import pytest

from gotasks.core.errors import UsageError
from gotasks.engine.admission import (
    LIGHT_CPU,
    TAIL_GRAIN,
    Job,
    Limits,
    admission_claims,
    admit,
    set_priorities,
    start_order,
)
from gotasks.engine.history import MIN_CPUS, History, TaskRecord, high_percentile
from gotasks.engine.onfailure import keeps_going
from gotasks.engine.summary import claim_text, critical_path_line, summary_lines
from gotasks.engine.trace import WAITED_SLACK, critical_path

MIB = 1024**2
GIB = 1024**3


def rec(
    name: str,
    start: float = 0.0,
    end: float = 1.0,
    cpu_seconds: float = 0.5,
    deps: tuple[str, ...] = (),
    status: str = "ok",
    cpu_claim: float = 1.0,
) -> TaskRecord:
    return TaskRecord(
        name=name,
        status=status,
        start=start,
        end=end,
        slot=0,
        pool=None,
        cpu_claim=cpu_claim,
        mem_claim=256 * MIB,
        peak_rss=50 * MIB,
        cpu_seconds=cpu_seconds,
        deps=deps,
    )


# --- claims: memory strict, CPU learned both ways ------------------------------------------


def test_without_history_the_declared_claims_are_used() -> None:
    assert admission_claims(2.0, 2 * GIB, None, None) == (2.0, 2 * GIB)


@pytest.mark.parametrize(
    ("declared", "learned", "admitted"),
    [
        (2.0, 0.6, 0.6),  # used a fraction of its claim: admitted at what it used
        (1.0, 0.35, 0.35),
        (2.0, 0.0, LIGHT_CPU),  # a sleeper still counts for something
        (2.0, 0.02, LIGHT_CPU),
        (2.0, 3.5, 2.0),  # never above the claim its own parallelism is set from
        (0.5, 0.5, 0.5),
    ],
)
def test_cpu_is_admitted_at_what_it_used_between_a_floor_and_its_claim(
    declared: float, learned: float, admitted: float
) -> None:
    cpu, _ = admission_claims(declared, 256 * MIB, learned, 10 * MIB)
    assert cpu == pytest.approx(admitted)


@pytest.mark.parametrize(
    ("declared", "learned", "admitted"),
    [
        (2 * GIB, 100 * MIB, 2 * GIB),  # a declared claim is a floor: never lowered
        (10 * MIB, 150 * MIB, 150 * MIB),  # a learned peak above it raises it
        (256 * MIB, 0, 256 * MIB),
    ],
)
def test_memory_stays_strict(declared: int, learned: int, admitted: int) -> None:
    _, mem = admission_claims(2.0, declared, 0.1, learned)
    assert mem == admitted


def test_three_tasks_that_used_fractions_of_their_claims_fit_two_cores_together() -> None:
    # examples/hello's ci: lint claims 1, test and build 2 each; they used 0.3-0.7 cores.
    limits = Limits(cpus=2.0, memory=4 * GIB, jobs=0, pools={})
    learned = {"lint": (1.0, 0.35), "test": (2.0, 0.5), "build": (2.0, 0.7)}
    jobs = []
    for name, (declared, used) in learned.items():
        cpu, mem = admission_claims(declared, 256 * MIB, used, 80 * MIB)
        jobs.append(Job(name=name, cpu=cpu, mem=mem))
    assert {j.name for j in admit(jobs, [], limits, memory_low=False)} == set(learned)
    # With the declared claims alone, only one of the 2-core tasks fits at a time.
    declared_jobs = [Job(name=n, cpu=d, mem=256 * MIB) for n, (d, _) in learned.items()]
    started = admit(declared_jobs, [], limits, memory_low=False)
    assert len(started) == 1


def test_learned_cpu_is_a_high_percentile_of_the_cores_used() -> None:
    history = History()
    # nine quiet runs at 0.2 cores and one busy one at 1.5: the busy one is an outlier ...
    used = [0.2] * 9 + [1.5]
    history.record([rec("t", 0.0, 1.0, cpu_seconds=u) for u in used])
    estimate = history.estimate("t")
    assert estimate is not None and estimate.cpus == pytest.approx(0.2)
    # ... two busy ones in ten are not: the claim covers them.
    history.record([rec("t", 0.0, 1.0, cpu_seconds=1.5)])
    estimate = history.estimate("t")
    assert estimate is not None and estimate.cpus == pytest.approx(1.5)


def test_high_percentile_is_nearest_rank() -> None:
    assert high_percentile([]) == 0.0
    assert high_percentile([0.4]) == 0.4
    assert high_percentile([0.1, 0.9, 0.5]) == 0.9  # fewer than ten: the largest
    assert high_percentile([float(i) for i in range(1, 11)]) == 9.0
    assert high_percentile([float(i) for i in range(1, 21)]) == 18.0
    assert MIN_CPUS == LIGHT_CPU


# --- the summary ---------------------------------------------------------------------------


def test_claim_text_shows_declared_and_admitted_when_they_differ() -> None:
    assert claim_text(2.0, 2.0) == "2"
    assert claim_text(2.0, 0.6) == "2>0.6"
    assert claim_text(1.0, 0.35) == "1>0.35"
    assert claim_text(0.5, 0.5) == "0.5"


def test_the_summary_has_a_claim_column_per_task() -> None:
    records = [rec("lint", 0, 1, cpu_claim=0.35), rec("build", 0, 2, cpu_claim=2.0)]
    lines = summary_lines(records, [1.0, 2.0])
    header = next(line for line in lines if "status" in line)
    assert header.split()[-1] == "claim"
    lint = next(line for line in lines if line.strip().startswith("lint"))
    build = next(line for line in lines if line.strip().startswith("build"))
    assert lint.split()[-1] == "1>0.35" and build.split()[-1] == "2"


def test_the_critical_path_names_each_task_with_its_time() -> None:
    records = [
        rec("lint", 0.0, 0.4),
        rec("test", 0.0, 0.3),
        rec("build", 0.0, 1.2),
        rec("ci", 1.2, 1.21, deps=("lint", "test", "build")),
    ]
    assert critical_path_line(records) == "critical path (1.2s): build 1.2s -> ci 10ms"
    assert critical_path_line([]) is None


def test_the_critical_path_goes_through_the_task_that_made_room() -> None:
    # b depends on nothing but waited for a's cores: a set the run's length as much as b.
    records = [
        rec("a", 0.0, 2.0),
        rec("c", 0.0, 0.5),
        rec("b", 2.05, 3.0),
    ]
    assert critical_path_line(records) == "critical path (3.0s): a 2.0s -> b 950ms"
    # Started long after anything ended (it waited for another run, say): b alone.
    records = [rec("a", 0.0, 1.0), rec("b", 2.0, 3.0)]
    assert critical_path_line(records) == "critical path (3.0s): b 1.0s"
    # A dependency that ended as late is preferred to a bystander.
    records = [rec("x", 0.0, 1.0), rec("y", 0.0, 1.0), rec("z", 1.0, 2.0, deps=("y",))]
    assert critical_path_line(records) == "critical path (2.0s): y 1.0s -> z 1.0s"


# --- the order ready jobs are offered the machine ------------------------------------------


def graph(durations: dict[str, float], edges: list[tuple[str, str]]) -> dict[str, Job]:
    jobs = {name: Job(name=name, cpu=2.0, mem=MIB, duration=d) for name, d in durations.items()}
    for before, after in edges:
        jobs[after].deps.add(jobs[before])
        jobs[before].dependents.add(jobs[after])
    set_priorities(list(jobs.values()))
    return jobs


def first_to_start(jobs: dict[str, Job], ready: list[str]) -> str:
    """With room for one job at a time (each claims the 2 cores), which starts."""
    limits = Limits(cpus=2.0, memory=GIB, jobs=0, pools={})
    (chosen,) = admit([jobs[n] for n in ready], [], limits, memory_low=False)
    return chosen.name


def test_cheap_checks_start_before_a_long_build_when_nothing_waits_on_it() -> None:
    # ci on a real program: an 8-minute cross build, a 1-minute test, a 20 s lint.
    jobs = graph(
        {"lint": 20, "test": 60, "build": 480, "ci": 0.01},
        [("lint", "ci"), ("test", "ci"), ("build", "ci")],
    )
    order = sorted(jobs.values(), key=start_order)
    assert [j.name for j in order] == ["ci", "lint", "test", "build"]
    assert first_to_start(jobs, ["lint", "test", "build"]) == "lint"
    assert first_to_start(jobs, ["test", "build"]) == "test"


def test_what_unblocks_more_work_still_goes_first() -> None:
    # a short task with a long one waiting behind it beats a long independent one ...
    jobs = graph({"gen": 5, "compile": 300, "docs": 100}, [("gen", "compile")])
    assert first_to_start(jobs, ["gen", "docs"]) == "gen"
    # ... and a long task with work behind it beats a short one with none.
    jobs = graph({"build": 200, "package": 60, "lint": 10}, [("build", "package")])
    assert first_to_start(jobs, ["build", "lint"]) == "build"


def test_tails_within_the_grain_count_as_equal() -> None:
    assert TAIL_GRAIN == 1.0
    jobs = graph(
        {"slow": 100, "quick": 3, "after_slow": 0.2, "after_quick": 0.6},
        [("slow", "after_slow"), ("quick", "after_quick")],
    )
    # 0.2 s and 0.6 s behind them: the same, so the 3 s task answers first.
    assert first_to_start(jobs, ["slow", "quick"]) == "quick"


def test_without_history_the_order_is_the_names() -> None:
    jobs = graph({"test": 1.0, "build": 1.0, "lint": 1.0}, [])
    assert [j.name for j in sorted(jobs.values(), key=start_order)] == ["build", "lint", "test"]


# --- after a failure: keep going or fail fast ----------------------------------------------


@pytest.mark.parametrize(
    ("keep", "fail_fast", "environ", "configured", "task_default", "expected"),
    [
        (False, False, {}, False, False, False),  # a plain run stops at the first failure
        (False, False, {}, False, True, True),  # ci keeps going
        (False, True, {}, False, True, False),  # --fail-fast restores stopping in ci
        (True, False, {}, False, False, True),  # --keep-going anywhere
        (False, True, {"GOTASKS_KEEP_GOING": "1"}, True, True, False),  # the flag wins
        (True, False, {"GOTASKS_FAIL_FAST": "yes"}, False, True, True),
        (False, False, {"GOTASKS_FAIL_FAST": "1"}, True, True, False),  # variable beats config
        (False, False, {"GOTASKS_KEEP_GOING": "true"}, False, False, True),
        (False, False, {"GOTASKS_FAIL_FAST": "0"}, False, True, True),  # falsy: unset
        (False, False, {}, True, False, True),  # scheduler.keep_going
    ],
)
def test_keep_going_or_fail_fast(
    keep: bool,
    fail_fast: bool,
    environ: dict[str, str],
    configured: bool,
    task_default: bool,
    expected: bool,
) -> None:
    assert keeps_going(keep, fail_fast, environ, configured, task_default) is expected


def test_both_ways_at_once_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--keep-going and --fail-fast"):
        keeps_going(True, True, {}, False, True)
    both = {"GOTASKS_KEEP_GOING": "1", "GOTASKS_FAIL_FAST": "1"}
    with pytest.raises(UsageError, match="GOTASKS_KEEP_GOING and GOTASKS_FAIL_FAST"):
        keeps_going(False, False, both, False, True)
    assert keeps_going(False, True, both, False, True) is False  # a flag settles it


def _critical_path_by_scanning(records: list[TaskRecord]) -> list[str]:
    """The walk back as first written: a scan past the path's own records at every step
    (quadratic, but plainly right): the reference the fast walk must agree with."""
    by_name = {r.name: r for r in records}
    if not by_name:
        return []
    order = sorted(enumerate(by_name.values()), key=lambda item: (item[1].end, -item[0]))
    by_end = [record for _, record in order]
    ends = [record.end for record in by_end]
    current: TaskRecord | None = by_end[-1]
    path: list[str] = []
    seen: set[str] = set()
    while current is not None and current.name not in seen:
        seen.add(current.name)
        path.append(current.name)
        task = current
        last = None
        for i in range(bisect.bisect_right(ends, task.start + WAITED_SLACK) - 1, -1, -1):
            if by_end[i].name not in seen:
                last = by_end[i]
                break
        deps = [by_name[d] for d in task.deps if d in by_name and d not in seen]
        last_dep = max(deps, key=lambda r: r.end) if deps else None
        dep_as_late = last_dep is not None and (
            last is None or last_dep.end >= last.end - WAITED_SLACK
        )
        nothing_just_before = (
            last is None or task.start - last.end > WAITED_SLACK or task.start <= WAITED_SLACK
        )
        current = last_dep if dep_as_late or nothing_just_before else last
    path.reverse()
    return path


@pytest.mark.parametrize("seed", range(40))
def test_the_critical_path_walk_agrees_with_a_plain_scan(seed: int) -> None:
    # Random runs, with ties in end times, back-to-back tasks, dependencies and gaps: the
    # walk that skips the path's records in near constant time finds the same chain.
    rng = random.Random(seed)
    records: list[TaskRecord] = []
    for i in range(rng.randint(1, 120)):
        start = round(rng.uniform(0, 5), 1)
        end = start + round(rng.choice([0.0, 0.05, 0.1, rng.uniform(0, 2)]), 2)
        deps = tuple(r.name for r in rng.sample(records, min(len(records), rng.randint(0, 2))))
        records.append(rec(f"t{i}", start, end, deps=deps))
    assert critical_path(records) == _critical_path_by_scanning(records)


def test_the_critical_path_of_a_long_serial_run_is_every_task() -> None:
    # 2,000 tasks one after another (a flat graph on one slot): each waited for the one
    # before it, so the chain holds all of them, in order.
    records = [rec(f"t{i}", i * 1.0, i * 1.0 + 0.99) for i in range(2000)]
    assert critical_path(records) == [f"t{i}" for i in range(2000)]
