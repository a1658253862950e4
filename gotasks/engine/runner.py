"""The parallel run itself: admits ready tasks under CPU, memory and pool limits, runs each
on a worker thread (engine/workers.py) while engine/monitor.py watches their process trees,
and marks what ended, what it lets start and what will not run."""

from __future__ import annotations

import bisect
import heapq
import queue
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

import psutil
from invoke.config import Config
from invoke.exceptions import Exit, UnexpectedExit
from invoke.parser import ParseResult

from gotasks.core.cancel import bind
from gotasks.core.console import safe_write
from gotasks.core.errors import Stopped
from gotasks.core.units import format_duration
from gotasks.engine import results, stops
from gotasks.engine.admission import Job, admit
from gotasks.engine.freshness import UpToDate
from gotasks.engine.leases import SharedMachine
from gotasks.engine.monitor import Monitor
from gotasks.engine.output import CLEAR_LINE, Routing, TaskOutput
from gotasks.engine.plan import Plan, Task
from gotasks.engine.procs import TaskProcesses
from gotasks.engine.workers import Workers

if TYPE_CHECKING:
    from gotasks.engine.placement import Placement

# How many of the ready tasks, best first, each admission looks at: more than a machine
# runs at once, far fewer than a monorepo's thousands of tasks.
ADMIT_WINDOW = 256
# What lets a dependent start.
SATISFIED = ("ok",)


def run_plan(
    plan: Plan, config: Config, core: ParseResult, placement: Placement | None = None
) -> dict[Any, Any]:
    runner = _Runner(plan, config, core, placement)
    return runner.run()


class _Runner:
    def __init__(
        self, plan: Plan, config: Config, core: ParseResult, placement: Placement | None = None
    ) -> None:
        self.plan, self.config, self.core = plan, config, core
        self.placement = placement  # None: every task runs here (engine/placement.py)
        self.done: queue.SimpleQueue[Task] = queue.SimpleQueue()
        # In start order; a dict, so a task that ends leaves it without a scan.
        self.running: dict[Task, None] = {}
        self.lock = threading.Lock()
        self.print_lock = threading.Lock()
        self.t0 = time.monotonic()
        self.t0_unix = time.time()
        self.stopping = False
        self.failed = False
        self.live = False
        self.free_slots: list[int] = []  # a heap: the lowest free slot first
        self.finished_count = 0
        self.by_rank = sorted(plan.tasks, key=lambda t: t.rank)
        self.ready: list[int] = []  # ranks of the tasks whose deps all succeeded, sorted
        self.workers: Workers[Task] = Workers(self._work)
        self.next_slot = 0
        self.shared = SharedMachine(plan.leases)
        self.held_back = False  # ready tasks wait for other runs on the machine

    # -- the main loop ---------------------------------------------------------------------

    def run(self) -> dict[Any, Any]:
        # A stop signal raises nothing in here: the loop sees it and stops every task from
        # one known place, and any further signal is dropped (gotasks/engine/stops.py).
        with stops.phase("flag"):
            return self._run()

    def _run(self) -> dict[Any, Any]:
        interrupted = False
        with Routing() as self.routing:
            self.real_out = self.routing.stdout
            # A live status line only on a terminal, and only when several tasks share it.
            self.live = len(self.plan.tasks) > 1 and self.real_out.isatty()
            self.monitor = Monitor(
                self.plan,
                self.t0,
                self._running_now,
                lambda: self.finished_count,
                (self.real_out, self.print_lock) if self.live else None,
            )
            self.monitor.start()
            try:
                self._loop()
            except KeyboardInterrupt:
                interrupted = True  # gotasks embedded in a program that owns the signals
            try:
                if interrupted or stops.received() is not None:
                    interrupted = True
                    self._interrupt()
            finally:
                self.stopping = True
                self.monitor.stop()
        self.workers.close()
        self.shared.release()
        if self.live:
            safe_write(self.real_out, CLEAR_LINE)
        records = results.task_records(self.plan.tasks)
        results.print_summary(self.plan, records)
        results.save(self.plan, records, self.monitor.counters, self.t0_unix, self.config)
        if interrupted or stops.received() is not None:
            raise Exit(
                "interrupted: every task's processes were stopped", code=stops.INTERRUPTED_EXIT
            )
        failed = [t for t in self.plan.tasks if t.status in ("failed", "killed", "timeout")]
        if failed:
            # One line on stderr: the failure itself, or each failure's own message.
            code = 2 if all(t.code == 2 for t in failed) else 1
            messages = [t.message or f"{t.node.name} failed" for t in failed]
            raise Exit("; ".join(messages) if len(failed) > 1 else messages[0], code=code)
        never_ran = [t.node.name for t in self.plan.tasks if t.status != "ok"]
        if never_ran:
            # Nothing failed, yet not everything ran: that is never a green run.
            shown = ", ".join(never_ran[:5]) + (", ..." if len(never_ran) > 5 else "")
            raise Exit(f"{len(never_ran)} task(s) never ran: {shown}", code=1)
        return {t.node.call.task: t.result for t in self.plan.tasks if t.status == "ok"}

    def _loop(self) -> None:
        tasks = self.plan.tasks
        for task in tasks:
            if task.waiting_on == 0:
                self.ready.append(task.rank)
        self.ready.sort()
        while stops.received() is None:
            self._start_ready()
            with self.lock:
                if not self.running and not self.held_back:
                    break
            try:
                finished = self.done.get(timeout=0.1)
            except queue.Empty:
                continue
            self._finished(finished)
            # Everything else that ended meanwhile too: one admission serves them all.
            while True:
                try:
                    self._finished(self.done.get_nowait())
                except queue.Empty:
                    break
            self.shared.hold(self._running_jobs())
        if stops.received() is not None:
            return  # _interrupt marks what did not run
        for task in tasks:
            if task.status == "waiting":
                task.status = "skipped"
                blocked = [d.node.name for d in task.deps if d.status not in SATISFIED]
                task.message = "not run: " + (
                    f"{', '.join(blocked)} did not succeed" if blocked else "the run stopped"
                )

    def _start_ready(self) -> None:
        self.held_back = False
        if self.stopping or (self.failed and not self.plan.keep_going) or not self.ready:
            return
        # The head of the ready tasks, in admission order: admit() goes down it until the
        # machine is full, so the rest (thousands in a big graph) need not be looked at.
        window = [self.by_rank[rank] for rank in self.ready[:ADMIT_WINDOW]]
        if self.placement is not None:
            self._place(window)
            return
        by_job = {t.job: t for t in window}
        with self.lock:
            running_jobs = [t.job for t in self.running]
        memory_low = psutil.virtual_memory().available < self.plan.capacity.reserve
        with self.shared.admitting():
            others = self.shared.others()
            limits = self.shared.share_of(self.plan.limits, others)
            chosen = admit(list(by_job), running_jobs, limits, memory_low, bool(others))
            started = set()
            for job in chosen:
                if stops.received() is not None:
                    # Starting hundreds of tasks takes a while on a loaded machine: a stop
                    # signal is answered now, not once the last of them has started.
                    break
                self._start(by_job[job])
                started.add(by_job[job].rank)
            if started:
                self.shared.hold(self._running_jobs())
        self._leave_ready(started)
        # Nothing of ours runs and other runs hold what we need: wait for them, not end.
        self.held_back = not chosen and not running_jobs and bool(others)
        self.shared.say_who_holds(others, limits, waiting=self.held_back)

    def _place(self, window: list[Task]) -> None:
        """A cluster run: the placement admits, against each worker's share and this
        machine's, and says where each chosen task goes."""
        assert self.placement is not None
        with self.lock:
            running = list(self.running)
        chosen = self.placement.choose(window, running)
        for task in chosen:
            self._start(task)
        self._leave_ready({task.rank for task in chosen})

    def _leave_ready(self, started: set[int]) -> None:
        """The started tasks out of the head of the ready ranks (admission looked no further)."""
        if started:
            self.ready[:ADMIT_WINDOW] = [r for r in self.ready[:ADMIT_WINDOW] if r not in started]

    def _skip_dependents(self, failed: Task) -> None:
        """--keep-going: what waits for a task that did not succeed will not run, nor what
        waits for those."""
        pending = [failed]
        while pending:
            task = pending.pop()
            for dependent in task.dependents:
                if dependent.status != "waiting":
                    continue
                bad = [d for d in dependent.deps if d.status not in ("waiting", "running", "ok")]
                dependent.status = "skipped"
                dependent.message = "skipped: depends on " + ", ".join(d.node.name for d in bad)
                self.finished_count += 1
                pending.append(dependent)

    def _start(self, task: Task) -> None:
        task.status = "running"
        task.start = time.monotonic() - self.t0
        task.slot = heapq.heappop(self.free_slots) if self.free_slots else self._new_slot()
        task.processes = TaskProcesses(task.node.name)
        mode = self.plan.output if len(self.plan.tasks) > 1 else "direct"
        task.output = TaskOutput(
            task.node.name,
            mode,
            self.print_lock,
            self.real_out,
            live=self.live,
            real_err=self.routing.stderr,
        )
        with self.lock:
            self.running[task] = None
        self.workers.submit(task)

    def _running_now(self) -> list[Task]:
        with self.lock:
            return list(self.running)

    def _running_jobs(self) -> list[Job]:
        """What this run holds of this machine (a cluster worker's task holds none of it)."""
        with self.lock:
            return [t.job for t in self.running if t.where is None]

    def _new_slot(self) -> int:
        self.next_slot += 1
        return self.next_slot - 1

    def _work(self, task: Task) -> None:
        assert task.processes is not None and task.output is not None
        bind(task.processes)
        self.routing.route(task.output.write)
        call = task.node.call
        # Only the main thread sets task.status: dependents must not start before the
        # main loop has seen this task end.
        try:
            # The run's config, shared: a command's output finds this task's block through
            # the thread it was started from (GroupRunner), not through a config of its own.
            if task.where is not None and self.placement is not None:
                task.result = self.placement.execute(task)  # on another machine
            else:
                context = call.make_context(self.config, core_parse_result=self.core)
                task.result = call.task(context, *call.args, **call.kwargs)
            task.outcome = "ok"
        except Exit as error:
            task.outcome, task.message = "failed", str(error.message or f"exit {error.code}")
            task.code = error.code
        except UnexpectedExit as error:
            task.outcome = "failed"
            task.message = f"command failed (exit {error.result.exited}): {error.result.command}"
        except BaseException:  # a bug in a task: show it, in that task's block
            task.output.write(traceback.format_exc())
            task.outcome, task.message = "failed", "raised an exception (traceback above)"
        finally:
            task.end = time.monotonic() - self.t0
            bind(None)
            self.routing.route(None)
            self.done.put(task)

    def _finished(self, task: Task) -> None:
        task.status = task.outcome
        with self.lock:
            del self.running[task]
        self.finished_count += 1
        heapq.heappush(self.free_slots, task.slot)
        processes = task.processes
        reason = processes.stop_reason if processes is not None else None
        if not reason and task.code == Stopped.exit_code and task.message == "interrupted":
            # The body's own check_stop() saw the signal before the run stopped this task's
            # processes (a timeout or a memory kill sets stop_reason before check_stop).
            reason = "interrupted"
        if reason:
            # Whatever the body made of it (go() never raises), a stopped task failed.
            if reason == "interrupted":
                # Not what the body made of its cut-off commands (failed tests, say).
                task.status, task.message = "interrupted", "interrupted"
            else:
                task.status = "timeout" if "killed: timeout" in reason else "killed"
                task.message = reason
        if processes is not None and processes.roots():
            # Nothing a task started outlives it (a `cmd &` left behind, a daemon).
            threading.Thread(target=processes.end, daemon=True).start()
        if task.status in SATISFIED:
            for dependent in task.dependents:
                dependent.waiting_on -= 1
                if dependent.waiting_on == 0 and dependent.status == "waiting":
                    bisect.insort(self.ready, dependent.rank)
        else:
            self.failed = True
            if self.plan.keep_going:
                self._skip_dependents(task)
        assert task.output is not None
        task.up_to_date = task.status == "ok" and isinstance(task.result, UpToDate)
        shown = "uptodate" if task.up_to_date else task.status
        task.output.finish(shown, format_duration(task.end - task.start), task.message)
        task.output = None  # printed: its text need not live as long as the run

    def _interrupt(self) -> None:
        """Ctrl-C, SIGTERM or SIGHUP: stop every running task's process groups, then wait."""
        self.stopping = True
        self.monitor.stop()
        with self.lock:
            running = list(self.running)
        stoppers = [
            threading.Thread(target=t.processes.stop, args=("interrupted",), daemon=True)
            for t in running
            if t.processes is not None
        ]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                task = self.done.get(timeout=0.1)
            except queue.Empty:
                with self.lock:
                    if not self.running:
                        break
                continue
            self._finished(task)
        for task in self.plan.tasks:
            if task.status == "waiting":
                task.status, task.message = "skipped", "not run: interrupted"
            elif task.status == "running" or (
                task.processes is not None and task.processes.stop_reason == "interrupted"
            ):
                task.status = "interrupted"
