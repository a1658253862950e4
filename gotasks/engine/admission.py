"""Which ready tasks start now: resource fit, pool caps, exclusivity, critical path first,
then the quickest answer."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

# A task overtaken this many times by smaller ones holds the machine for itself: nothing
# else starts until it fits, so a big task cannot be starved forever.
MAX_OVERTAKEN = 3
# Bookkeeping tasks (`inv env`, `ci`'s own body) claim this little: they never wait for
# other runs on the machine, so `eval "$(inv env)"` answers while an `inv ci` runs.
LIGHT_CPU = 0.1
LIGHT_MEM = 64 * 1024**2
# Work behind two ready jobs this close (seconds) counts as the same: the shorter starts first.
TAIL_GRAIN = 1.0


@dataclass(eq=False, slots=True)
class Job:
    """A task in the graph as the scheduler sees it."""

    name: str
    cpu: float
    mem: int
    pool: str | None = None
    exclusive: bool = False
    duration: float = 1.0  # estimated seconds, from history when known
    deps: set[Job] = field(default_factory=set)
    dependents: set[Job] = field(default_factory=set)
    priority: float = 0.0  # longest remaining path through this job, in estimated seconds
    tail: float = 0.0  # of it, what waits for this job to end: priority - duration
    overtaken: int = 0


def admission_claims(
    declared_cpu: float, declared_mem: int, learned_cpu: float | None, learned_mem: int | None
) -> tuple[float, int]:
    """The (cores, bytes) a task is admitted at, from what it declares and, when past runs
    measured it, what it used.

    Memory cannot be overcommitted: the declared claim is a floor and a larger learned peak
    raises it. CPU can: a task that used a fraction of its cores is admitted at what it used
    (at least LIGHT_CPU), so it runs beside others; never above its declared claim, which is
    also what its own parallelism is set from (go test -p, builds at once), so it cannot
    use much more.
    """
    mem = max(declared_mem, learned_mem or 0)
    if learned_cpu is None:
        return declared_cpu, mem
    return min(declared_cpu, max(LIGHT_CPU, learned_cpu)), mem


def set_priorities(jobs: list[Job]) -> None:
    """Longest remaining path (critical path to the end), weighted by estimated durations,
    and the part of it that waits behind each job (its tail)."""
    memo: dict[Job, float] = {}

    def remaining(job: Job) -> float:
        if job not in memo:
            memo[job] = job.duration + max((remaining(d) for d in job.dependents), default=0.0)
        return memo[job]

    for job in jobs:
        job.priority = remaining(job)
        job.tail = job.priority - job.duration


def start_order(job: Job) -> tuple[int, float, str]:
    """The order ready jobs are offered the machine: the most work waiting behind a job
    first (so the critical path is never held up), and among jobs with as much behind
    them (within TAIL_GRAIN), the shortest first: it can report a failure soonest, and
    starting it first delays the others by little (lint and test before a long build)."""
    return (-math.floor(job.tail / TAIL_GRAIN), job.duration, job.name)


@dataclass
class Limits:
    cpus: float
    memory: int
    jobs: int  # 0: no cap beyond resources
    pools: dict[str, int]


def admit(
    ready: list[Job],
    running: list[Job],
    limits: Limits,
    memory_low: bool,
    others_hold: bool = False,
) -> list[Job]:
    """The ready jobs to start now, in the order to start them.

    A job starts when its cpu and mem fit what is left, its pool is under its cap, and no
    exclusive job runs; an exclusive job, or one bigger than the machine, starts when nothing
    else runs (so nothing deadlocks). While the machine's own available memory is under the
    reserve, nothing new starts unless nothing runs at all.

    `limits` are this run's share when other runs on the machine hold some of it
    (`others_hold`): then "nothing else runs" is false, and a job that does not fit waits
    for them, unless it is light.
    """
    if any(job.exclusive for job in running):
        return []
    if memory_low and (running or others_hold):
        return []
    chosen: list[Job] = []
    cpu = sum(job.cpu for job in running)
    mem = sum(job.mem for job in running)
    pools = Counter(job.pool for job in running if job.pool)
    passed_over: list[Job] = []
    for job in sorted(ready, key=start_order):
        if limits.jobs and len(running) + len(chosen) >= limits.jobs:
            break
        if job.pool and pools[job.pool] >= limits.pools.get(job.pool, 1 << 30):
            continue
        light = job.cpu <= LIGHT_CPU and job.mem <= LIGHT_MEM
        idle = not running and not chosen and (not others_hold or light)
        fits = (
            not job.exclusive
            and cpu + job.cpu <= limits.cpus + 1e-9
            and mem + job.mem <= limits.memory
        )
        if fits or idle:
            chosen.append(job)
            cpu, mem = cpu + job.cpu, mem + job.mem
            if job.pool:
                pools[job.pool] += 1
            for waiting in passed_over:
                waiting.overtaken += 1
            if job.exclusive:
                break
            continue
        if job.overtaken >= MAX_OVERTAKEN:
            break  # hold what frees up for this job
        passed_over.append(job)
    return chosen
