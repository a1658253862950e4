"""Admission arithmetic: claims from declared and learned figures, which jobs start, in
which order, and the chain the summary names as the critical path. Pure code, no inv."""

from __future__ import annotations

import pytest

from gotasks.engine.admission import LIGHT_CPU, Job, Limits, admission_claims, admit
from gotasks.engine.history import MIN_CPUS, History, TaskRecord, high_percentile
from gotasks.engine.summary import claim_text, critical_path_line, summary_lines

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
