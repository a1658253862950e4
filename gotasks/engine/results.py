"""What a finished parallel run leaves behind: its records, the summary table, the history
of measurements, and the trace and HTML report when asked for."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from invoke.config import Config

from gotasks.core import console
from gotasks.core.console import safe_write
from gotasks.core.units import format_bytes
from gotasks.engine.history import TaskRecord
from gotasks.engine.plan import Plan, Task
from gotasks.engine.run import run_facts
from gotasks.engine.summary import summary_lines
from gotasks.engine.trace import write_trace

Counters = Sequence[tuple[float, float, int]]  # (seconds, CPU % of capacity, RSS bytes)


def task_records(tasks: Sequence[Task]) -> list[TaskRecord]:
    # An up-to-date task is a zero-length slice, and no duration sample for the history.
    return [
        TaskRecord(
            name=t.node.name,
            status="uptodate" if t.up_to_date else t.status,
            start=t.start,
            end=t.start if t.up_to_date else max(t.end, t.start),
            slot=max(t.slot, 0),
            pool=t.job.pool,
            cpu_claim=t.job.cpu,
            mem_claim=t.job.mem,
            peak_rss=t.processes.peak_rss if t.processes else 0,
            cpu_seconds=t.processes.cpu_seconds if t.processes else 0.0,
            deps=tuple(d.node.name for d in t.deps),
            where=t.where or "",
        )
        for t in tasks
    ]


def print_summary(plan: Plan, records: Sequence[TaskRecord]) -> None:
    if len(records) <= 1:
        return  # one task says it all in its own output
    declared = [t.declared[0] for t in plan.tasks]
    lines = summary_lines(records, declared, full=plan.summary == "full")
    safe_write(sys.stdout, "\n".join(lines) + "\n")


def save(
    plan: Plan,
    records: list[TaskRecord],
    counters: Counters,
    t0_unix: float,
    config: Config,
) -> None:
    """The history, and the trace and report the run asked for."""
    removed = plan.history_found and plan.history_path and not plan.history_path.exists()
    if plan.history_path is not None and not removed:
        try:
            plan.history.record(records)
            plan.history.save(plan.history_path, durable=plan.durable_history)
        except OSError as error:
            console.warn(f"could not save {plan.history_path}: {error.strerror}")
    if plan.trace:
        meta = {
            "cpus": str(plan.capacity.cpus),
            "memory": format_bytes(plan.capacity.memory),
            **{f"{k} from": str(v) for k, v in plan.capacity.sources.items()},
        }
        ran = [r for r in records if r.status != "skipped"]
        try:
            write_trace(plan.trace, ran, list(counters), t0_unix, meta)
        except OSError as error:
            console.warn(f"could not write the trace {plan.trace}: {error.strerror}")
        else:
            safe_write(sys.stdout, f"trace: {plan.trace}\n")
    if plan.report:
        _write_report(plan, records, counters, t0_unix, config)


def _write_report(
    plan: Plan, records: list[TaskRecord], counters: Counters, t0_unix: float, config: Config
) -> None:
    # Loaded only by a run that asks for a report.
    from gotasks.engine.report import ReportTask, RunReport, write_report

    assert plan.report is not None
    tasks = [
        ReportTask(
            record=record,
            message=task.message,
            mem_limit=task.mem_limit,
            cpu_declared=task.declared[0],
            mem_declared=task.declared[1],
            cpu_learned=task.learned.cpus if task.learned else None,
            mem_learned=task.learned.peak_rss if task.learned else None,
            stopped_at=task.stopped_at,
        )
        for task, record in zip(plan.tasks, records, strict=True)
    ]
    capacity = plan.capacity
    sources = ", ".join(f"{k} from {v}" for k, v in capacity.sources.items())
    facts = [
        *_facts(config),
        ("capacity", f"{capacity.cpus:g} cores, {format_bytes(capacity.memory)} memory"),
        ("capacity from", sources or "-"),
        ("started", time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t0_unix))),
    ]
    report = RunReport(tasks, counters, capacity.cpus, capacity.memory, facts)
    try:
        write_report(plan.report, report)
    except OSError as error:
        console.warn(f"could not write the report {plan.report}: {error.strerror}")
    else:
        safe_write(sys.stdout, f"report: {plan.report}\n")


def _facts(config: Config) -> list[tuple[str, str]]:
    try:
        return run_facts(config)
    except Exception as error:  # a fact the app could not find must not lose the report
        return [("facts", f"incomplete: {error}")]
