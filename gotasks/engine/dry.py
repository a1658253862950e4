"""`inv --dry` (-R): the run's plan and the commands each task would run, running nothing.

As `make -n`: the tasks in the order they would start, with their claims, then under each
the commands it would run. A task's commands are known only by calling its body, so a body
that copes (ResourceTask dry=True) is called with run.dry set: its commands echo instead of running
(a read-only query such as go list still runs) and it writes nothing. What the body prints
about results that do not exist is left out, unless it fails: then it explains the failure.
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Any

from invoke.config import Config
from invoke.exceptions import Exit, UnexpectedExit
from invoke.parser import ParseResult

from gotasks.core import console
from gotasks.core.errors import Failure
from gotasks.core.units import format_bytes, format_duration
from gotasks.engine.decorator import ResourceTask
from gotasks.engine.plan import Plan, Task
from gotasks.engine.run import run_state
from gotasks.engine.summary import cores


def dry_run(plan: Plan, config: Config, core: ParseResult) -> dict[Any, Any]:
    out = sys.stdout
    print(plan_text(plan), file=out, flush=True)
    failures: list[tuple[str, int]] = []
    for task in plan.tasks:
        print(f"\n{console.paint(task.node.name + ':', 'dim')}", file=out, flush=True)
        failure = _show_commands(task, config, core, out)
        if failure is not None:
            failures.append(failure)
    if failures:
        code = 2 if all(code == 2 for _, code in failures) else 1
        raise Exit("; ".join(message for message, _ in failures), code=code)
    return {}


def plan_text(plan: Plan) -> str:
    """The plan: one line per task in the order a one-at-a-time run starts them."""
    capacity = plan.capacity
    lines = [
        f"dry run: nothing runs, nothing is written; {len(plan.tasks)} task(s) in order,"
        f" for {capacity.cpus:g} CPUs and {format_bytes(capacity.memory)}"
        + (f", at most {plan.limits.jobs} at once" if plan.limits.jobs else "")
    ]
    width = max((len(t.node.name) for t in plan.tasks), default=0)
    for number, task in enumerate(plan.tasks, 1):
        job = task.job
        claims = [f"cpu {cores(job.cpu)}", f"mem {format_bytes(job.mem)}"]
        if job.pool:
            claims.append(f"pool {job.pool}")
        if job.exclusive:
            claims.append("exclusive")
        if task.timeout is not None:
            claims.append(f"timeout {format_duration(task.timeout)}")
        after = ", ".join(d.node.name for d in task.deps)
        line = f"  {number:>2}. {task.node.name:<{width}}  {'  '.join(claims)}"
        lines.append(line + (f"  after {after}" if after else ""))
    return "\n".join(lines)


def _show_commands(
    task: Task, config: Config, core: ParseResult, out: Any
) -> tuple[str, int] | None:
    """Call the task's body with its commands echoed to `out`; its other output is kept
    back and shown only if it fails. Returns (message, exit code) of a failure."""
    call = task.node.call
    if not (isinstance(call.task, ResourceTask) and call.task.dry):
        print("  (not called: its Python body may change things, so a dry run skips it)", file=out)
        return None
    # Its commands echo to `out`, past the capture of its other output (one task at a time).
    state = run_state(config)
    state.echo_stream = out
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            call.task(call.make_context(config, core_parse_result=core), *call.args, **call.kwargs)
    except Exit as error:
        message, code = str(error.message or f"exit {error.code}"), error.code
    except UnexpectedExit as error:  # a read-only query that failed
        message, code = f"command failed (exit {error.result.exited})", 1
    except Failure as error:
        message, code = str(error), error.exit_code
    else:
        return None
    shown = said.getvalue()
    if shown.strip():
        print(shown.rstrip("\n"), file=out)
    print(f"  {console.status_mark('failed')} {message}", file=out, flush=True)
    return f"{task.node.name}: {message}", code
