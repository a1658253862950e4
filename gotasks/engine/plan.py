"""The plan of a parallel run: each node's claims, limits and run-wide options resolved from
the flags, the GOTASKS_* variables and the config, with the estimates of past runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoke.config import Config

from gotasks.core import collector
from gotasks.core.errors import UsageError
from gotasks.engine.admission import Job, Limits, admission_claims, set_priorities
from gotasks.engine.capacity import Capacity, detect
from gotasks.engine.decorator import ResourceTask
from gotasks.engine.graph import Node
from gotasks.engine.history import Estimate, History
from gotasks.engine.leases import Leases, lease_folder
from gotasks.engine.onfailure import keeps_going
from gotasks.engine.output import TaskOutput
from gotasks.engine.placement import NODE_VARIABLE
from gotasks.engine.procs import TaskProcesses
from gotasks.engine.run import RunOptions, env_name, run_state
from gotasks.engine.sharding import current_shard
from gotasks.engine.shards import ShardSpec, shard_path

DEFAULT_LIMIT_FACTOR = 3.0  # a task is killed past this multiple of its memory estimate


@dataclass(eq=False, slots=True)
class Task:
    """A node of the run with its scheduling facts and, once it ran, what happened."""

    node: Node
    job: Job
    timeout: float | None
    mem_limit: int
    status: str = "waiting"  # waiting, running, ok, failed, killed, timeout, skipped, interrupted
    outcome: str = "failed"  # what the worker thread found, until the main loop takes it
    start: float = 0.0
    end: float = 0.0
    slot: int = -1
    message: str | None = None
    code: int = 0  # the exit code the task's own failure asked for (2: bad usage)
    result: Any = None
    processes: TaskProcesses | None = None
    output: TaskOutput | None = None
    deps: list[Task] = field(default_factory=list)
    dependents: list[Task] = field(default_factory=list)
    waiting_on: int = 0  # deps not finished well yet: at 0 the task is ready
    rank: int = 0  # its place in admission order (longest remaining path first)
    declared: tuple[float, int] = (1.0, 0)  # (cores, bytes) the task itself claims
    learned: Estimate | None = None  # what past runs measured, if any
    stopped_at: float | None = None  # when the monitor decided to kill it (run seconds)
    up_to_date: bool = False  # it succeeded by skipping its work (its body said UpToDate)
    where: str | None = None  # the cluster worker it runs on (engine/placement.py); None: here


@dataclass
class Plan:
    tasks: list[Task]
    limits: Limits
    capacity: Capacity
    keep_going: bool
    output: str
    trace: str | None
    history: History
    history_path: Path | None
    report: str | None = None
    # the history file was there when the run began: gone at its end, someone removed it
    # (inv clean --all), and the run must not write it back
    history_found: bool = False
    leases: Leases | None = None  # the machine's budget, shared with other runs
    summary: str = "short"  # short: failures, kills, skips, the slowest, counts; full: all
    # A cluster worker's run of one node (engine/placement.py) saves its history without an
    # fsync: it is the worker's, for its own estimates; the client keeps the run's.
    durable_history: bool = True

    @classmethod
    def make(
        cls, nodes: list[Node], options: RunOptions, config: Config, environ: Mapping[str, str]
    ) -> Plan:
        """Flags beat GOTASKS_* variables, which beat the config's scheduler section."""
        with collector.paused():
            return cls._make(nodes, options, config, environ)

    @classmethod
    def _make(
        cls, nodes: list[Node], options: RunOptions, config: Config, environ: Mapping[str, str]
    ) -> Plan:
        run = run_state(config)
        sched: dict[str, Any] = dict(run.scheduler)
        jobs = _jobs(options.jobs, environ.get(env_name("JOBS")), sched.get("jobs", 0))
        keep_going = keeps_going(
            options.keep_going,
            options.fail_fast,
            environ,
            bool(sched.get("keep_going")),
            any(isinstance(n.call.task, ResourceTask) and n.call.task.keep_going for n in nodes),
        )
        output = _output(options.output, environ.get(env_name("OUTPUT")), sched.get("output"))
        summary = _summary(options.summary, environ.get(env_name("SUMMARY")), sched.get("summary"))
        trace = options.trace or environ.get(env_name("TRACE")) or sched.get("trace") or None
        report = options.report or environ.get(env_name("REPORT")) or sched.get("report") or None
        # A shard's files are its own: the shards' artifacts can meet in one folder.
        shard = current_shard(config)
        trace, report = (shard_path(p, shard) if p else None for p in (trace, report))
        capacity = detect(
            sched.get("cpus"), sched.get("memory"), sched.get("reserve"), environ=environ
        )
        history_path = run.state_dir / "history.json" if run.state_dir is not None else None
        history = History.load(history_path) if history_path else History()
        factor = float(sched.get("memory_limit_factor") or DEFAULT_LIMIT_FACTOR)
        tasks = [_task(node, history, factor) for node in nodes]
        for task, node in zip(tasks, nodes, strict=True):
            task.deps = [tasks[i] for i in sorted(node.deps)]
            task.job.deps = {d.job for d in task.deps}
            task.waiting_on = len(task.deps)
            for dep in task.deps:
                dep.job.dependents.add(task.job)
                dep.dependents.append(task)
        set_priorities([t.job for t in tasks])
        # admit()'s own order, fixed for the run: the runner keeps its ready tasks sorted
        # by it instead of scanning every task each time one ends.
        ordered = sorted(tasks, key=lambda t: (-t.job.priority, t.job.name))
        for rank, task in enumerate(ordered):
            task.rank = rank
        limits = Limits(capacity.cpus, capacity.memory, jobs, dict(sched.get("pools") or {}))
        found = history_path is not None and history_path.exists()
        # A worker's run of one node was admitted by the client against the worker's share:
        # it holds no lease of its own there (it would only wait behind the worker's others).
        one_node = bool(environ.get(NODE_VARIABLE))
        leases = None if one_node else Leases(lease_folder(environ), str(Path.cwd()))
        return cls(
            tasks,
            limits,
            capacity,
            keep_going,
            output,
            trace,
            history,
            history_path,
            report,
            found,
            leases,
            summary,
            durable_history=not one_node,
        )


def run_variable_problems(environ: Mapping[str, str]) -> list[str]:
    """What is wrong with the GOTASKS_* variables a run reads besides the capacity ones
    (those are capacity.detect's): one line each, for doctor."""
    problems = []
    for check in (
        lambda: _jobs(None, environ.get(env_name("JOBS")), 0),
        lambda: _output(None, environ.get(env_name("OUTPUT")), None),
        lambda: keeps_going(False, False, environ, False, False),
        lambda: (
            environ.get(env_name("SHARD"))
            and ShardSpec.parse(environ[env_name("SHARD")], env_name("SHARD"))
        ),
        lambda: _summary(None, environ.get(env_name("SUMMARY")), None),
    ):
        try:
            check()
        except UsageError as error:
            problems.append(str(error))
    return problems


def _output(flag: str | None, env: str | None, config: str | None) -> str:
    output = flag or env or config or "group"
    if output not in ("group", "prefixed"):
        source = "--output" if flag else (env_name("OUTPUT") if env else "scheduler.output")
        raise UsageError(f"{source}: expected group or prefixed, got {output!r}")
    return output


def _summary(flag: str | None, env: str | None, config: str | None) -> str:
    summary = flag or env or config or "short"
    if summary not in ("short", "full"):
        source = "--summary" if flag else (env_name("SUMMARY") if env else "scheduler.summary")
        raise UsageError(f"{source}: expected short or full, got {summary!r}")
    return summary


def _jobs(flag: str | None, env: str | None, config: int) -> int:
    """Most tasks at once; 0 means no cap, from the flag, the variable and the config alike."""
    for value, what in ((flag, "--jobs"), (env, env_name("JOBS"))):
        if value is None or value == "":
            continue
        try:
            number = int(value)
        except ValueError:
            raise UsageError(f"{what}: expected a whole number, got {value!r}") from None
        if number < 0:
            raise UsageError(f"{what}: must be 0 (no cap) or more, got {number}")
        return number
    return int(config)


def _task(node: Node, history: History, factor: float) -> Task:
    task = node.call.task
    claims = task.claims if isinstance(task, ResourceTask) else None
    declared = (claims.cpu if claims else 1.0, claims.mem if claims else 256 * 1024**2)
    estimate = history.estimate(node.name)
    cpu, mem = admission_claims(
        *declared,
        estimate.cpus if estimate else None,
        estimate.peak_rss if estimate else None,
    )
    duration = estimate.duration if estimate else 1.0
    job = Job(
        name=node.name,
        cpu=cpu,
        mem=mem,
        pool=claims.pool if claims else None,
        exclusive=claims.exclusive if claims else False,
        duration=duration,
    )
    timeout = claims.timeout if claims else None
    return Task(
        node=node,
        job=job,
        timeout=timeout,
        mem_limit=int(mem * factor),
        declared=declared,
        learned=estimate,
    )
