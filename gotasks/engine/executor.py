"""The executor invoke uses (via invoke.yaml): the whole graph, prepared once, run in parallel."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from invoke import executor as invoke_executor
from invoke.collection import Collection
from invoke.exceptions import Exit
from invoke.parser.context import ParserContext
from invoke.tasks import Call

from gotasks.core import collector, console, scrub
from gotasks.core.errors import Failure, UsageError
from gotasks.engine import stops
from gotasks.engine.decorator import ResourceTask
from gotasks.engine.dry import dry_run
from gotasks.engine.graph import Node, expand
from gotasks.engine.placement import only_the_node, placement_for
from gotasks.engine.plan import Plan
from gotasks.engine.run import RunOptions, dimension_values, env_name, prepare, run_state
from gotasks.engine.runner import run_plan
from gotasks.engine.sharding import shard_graph


class Executor(invoke_executor.Executor):
    """Expands invoke's pre/post graph, gives run-wide options to every task in it, checks
    everything that can be wrong before anything starts, then hands it to the scheduler."""

    def execute(self, *tasks: str | tuple[str, dict[str, Any]] | ParserContext) -> dict[Any, Any]:
        # Everything printed from here on, and the message a failure ends with, has the
        # run's known secrets hidden (the settings register them while preparing).
        try:
            with scrub.streams(), _collector_spared():
                return self._interruptible(tasks)
        except Exit as error:
            if not error.message:
                raise
            raise Exit(scrub.scrub(str(error.message)), error.code) from None

    def _interruptible(
        self, tasks: tuple[str | tuple[str, dict[str, Any]] | ParserContext, ...]
    ) -> dict[Any, Any]:
        # Preparing may install an SDK: a stop signal unwinds it through its rollback.
        try:
            with stops.phase("raise"):
                return self._execute(tasks)
        except Exit as error:
            if stops.received() is None or error.code == stops.INTERRUPTED_EXIT:
                raise
            raise Exit(error.message, code=stops.INTERRUPTED_EXIT) from None
        except BaseException as error:
            # A stop signal's KeyboardInterrupt, or what it turned into where it landed.
            if not isinstance(error, KeyboardInterrupt) and stops.received() is None:
                raise
            raise Exit(
                "interrupted: nothing was left running", code=stops.INTERRUPTED_EXIT
            ) from None

    def _execute(
        self, tasks: tuple[str | tuple[str, dict[str, Any]] | ParserContext, ...]
    ) -> dict[Any, Any]:
        """The steps of one run, top to bottom (the shape of nox's _cli.py): each a call."""
        config = self.config
        calls = self.normalize(tasks)
        try:
            # 1. One set of run-wide options from every task typed (--env twice is an error).
            options = _run_options(calls)
            # 2. A bare `inv`: the task the env's config names stands in for `default`.
            calls = [_stood_for(call, self.collection, config, options) for call in calls]
            # 3. The app's setup steps the tasks need (gotasks: settings, then toolchain):
            #    they fill the run's state (run_state).
            prepare(config, options, _needs(calls))
            # 4. One graph: pre/post tasks as dependencies, `each=` as one node per value.
            nodes = expand(calls, lambda dim: dimension_values(dim, config), options.as_kwargs())
            # 5. Only this shard's units (--shard I/N); on a cluster worker, only its node
            #    (a worker's run server forks each task's run from here: placement.py).
            nodes = shard_graph(nodes, options, config, os.environ)
            nodes = only_the_node(nodes, config, os.environ)
            # 6. Every task's claims and pools, checked before anything starts.
            _check_claims(nodes, run_state(config).scheduler.get("pools", {}))
            # 7. The plan: limits, order, capacity, what past runs measured.
            plan = _plan(nodes, options, config)
        except Failure as error:
            raise Exit(str(error), code=error.exit_code) from None
        # 8. One collection-config load for the whole run: worker threads share this config.
        config.load_collection(self.collection.configuration())
        config.load_shell_env()
        # 9. Run it (or, with --dry, show it; with --cluster, on its workers), then the
        #    summary, history, trace and report.
        if config.run.dry:
            return dry_run(plan, config, self.core)
        collector.freeze()  # the plan too (see _collector_spared)
        try:
            placement = placement_for(plan, config, options, os.environ)
        except Failure as error:
            raise Exit(str(error), code=error.exit_code) from None
        if placement is None:
            return run_plan(plan, config, self.core)
        try:
            return run_plan(plan, config, self.core, placement)
        finally:
            placement.close()


def _run_options(calls: list[Call]) -> RunOptions:
    options = RunOptions()
    for call in calls:
        options = options.merged(RunOptions.from_kwargs(call.kwargs), "command line")
    return options


@contextlib.contextmanager
def _collector_spared() -> Iterator[None]:
    """The loaded tasks and the plan (thousands of objects a task in a monorepo) live as
    long as the run: frozen, the cycle collector's full passes, each of which would walk
    them all again, skip them. Freed by their counts as ever; in a process that goes on
    after the run (not `inv`), the collector gets them back."""
    collector.freeze()
    try:
        yield
    finally:
        if not stops.loaded_by_inv():
            collector.unfreeze()


def _plan(nodes: list[Node], options: RunOptions, config: Any) -> Plan:
    # doctor names a bad or clamped GOTASKS_* value (the app's prefix) among its findings.
    diagnoses = all(isinstance(n.call.task, ResourceTask) and n.call.task.diagnoses for n in nodes)
    try:
        plan = Plan.make(nodes, options, config, os.environ)
    except UsageError:
        if not diagnoses:
            raise
        # Its own run goes without them (a bad flag still stops it).
        prefix = env_name("")
        without = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
        return Plan.make(nodes, options, config, without)
    if not diagnoses:
        for text in plan.capacity.clamped:
            console.warn(text)
    return plan


def _stood_for(call: Call, collection: Collection, config: Any, options: RunOptions) -> Call:
    """The call itself, or for a task that stands for another (ResourceTask.stands_for), a call
    of the task the config names."""
    task = call.task
    if not isinstance(task, ResourceTask) or task.stands_for is None:
        return call
    prepare(config, options, task.needs)
    name, where = task.stands_for(config)
    # a collection's default task answers to the collection's name (bench for bench.bench)
    names_map = collection.task_names
    every = {*names_map, *(alias for aliases in names_map.values() for alias in aliases)}
    names = sorted(n for n in every if collection[n] is not task)
    if name not in names:
        raise UsageError(f"{where}: no task {name!r} to run by default; tasks: {', '.join(names)}")
    return Call(collection[name], called_as=name, kwargs=dict(call.kwargs))


def _needs(calls: list[Any]) -> set[str] | None:
    """The prepare hooks the requested tasks and their pre/post tasks need (None: all)."""
    needed: set[str] = set()
    seen: set[int] = set()
    stack = [call.task for call in calls]
    while stack:
        task = stack.pop()
        if id(task) in seen:
            continue
        seen.add(id(task))
        if not isinstance(task, ResourceTask) or task.needs is None:
            return None
        needed.update(task.needs)
        stack += [getattr(item, "task", item) for item in (*task.pre, *task.post)]
    return needed


def _check_claims(nodes: list[Node], pools: dict[str, int]) -> None:
    for node in nodes:
        task = node.call.task
        if not isinstance(task, ResourceTask):
            continue
        if task.claim_error:
            raise task.claim_error
        pool = task.claims.pool
        if pool is not None and pool not in pools:
            known = ", ".join(sorted(pools)) or "none"
            raise UsageError(
                f"task {node.name}: unknown pool {pool!r}; pools in scheduler.pools: {known}"
            )
