"""--shard I/N on a run: the graph narrowed to this shard's units of work.

The app registers the tasks whose work splits into units (lint: a module; test: a
package; build: a target) with two functions: the units of one call, and the call
narrowed to some of them. Before the run starts, every unit of every such task in the
graph is costed from history (or taken from a plan file) and split (engine/shards.py);
each task keeps its units in this shard, a task with none is left out, and the run's
files (trace, report, and whatever the app names with `current_shard`) carry the shard
in their names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.config import Config
from invoke.tasks import Call

from gotasks.core import console
from gotasks.core.errors import UsageError
from gotasks.engine.graph import Node, without
from gotasks.engine.run import RunOptions, env_name, run_state

# The history and the shard planner load when a run is sharded or records units:
# registering the shardable tasks (every `inv`, `--list` too) costs nothing.
if TYPE_CHECKING:
    from gotasks.engine.shards import ShardPlan, ShardSpec

# A call's units: (unit name, what `Narrow` is given for it). Names are the history's
# keys for the units' durations: "<task node> <unit>", e.g. "test[hello] ./stats".
Units = Callable[[Call, Config], list[tuple[str, Any]]]
Narrow = Callable[[Call, list[Any]], Call]
_shardable: dict[int, tuple[Units, Narrow]] = {}
_LOOKUPS = 4  # units of that many tasks looked up at once


def _key(task: Any) -> int:
    # By its body: invoke hands the executor copies of the collection's Task objects.
    return id(getattr(task, "body", task))


def register_shardable(task: Any, units: Units, narrow: Narrow) -> None:
    _shardable[_key(task)] = (units, narrow)


def history_path(config: Config) -> Path | None:
    folder = run_state(config).state_dir
    return folder / "history.json" if folder is not None else None


def unit_durations(config: Config) -> dict[str, list[float]]:
    """Every recorded duration by name, from the run's history."""
    from gotasks.engine.history import History

    path = history_path(config)
    history = History.load(path) if path else History()
    return {name: [s.duration for s in history.samples(name)] for name in history.names()}


def record_durations(config: Config, durations: Mapping[str, float]) -> None:
    """Add what units took (a package's tests, a target's build) to the history, merged
    with what other runs wrote; a history that cannot be written is a warning."""
    from gotasks.engine.history import History, Sample

    path = history_path(config)
    if path is None or not durations:
        return
    history = History()
    for name, seconds in durations.items():
        history.add(name, Sample(duration=seconds, peak_rss=0, cpu_seconds=0.0))
    try:
        history.save(path)
    except OSError as error:
        console.warn(f"could not save {path}: {error.strerror}")


def graph_units(nodes: list[Node], config: Config) -> dict[int, list[tuple[str, Any]]]:
    """The units of each node (by index) whose task splits into units."""
    wanted = [i for i, node in enumerate(nodes) if _key(node.call.task) in _shardable]

    def units_of(i: int) -> list[tuple[str, Any]]:
        return _shardable[_key(nodes[i].call.task)][0](nodes[i].call, config)

    if not wanted:
        return {}
    from concurrent.futures import ThreadPoolExecutor  # a sharded run's only

    # The first alone (it may fill the run's caches, the module list), then the rest side
    # by side: a monorepo's units are a `go list` per module, each mostly waiting on go.
    found = {wanted[0]: units_of(wanted[0])}
    with ThreadPoolExecutor(max_workers=_LOOKUPS, thread_name_prefix="gotasks-units") as pool:
        found.update(zip(wanted[1:], pool.map(units_of, wanted[1:]), strict=True))
    return {i: found[i] for i in wanted}


def current_shard(config: Config) -> ShardSpec | None:
    """The shard this run is (None: not sharded)."""
    return run_state(config).shard


def shard_graph(
    nodes: list[Node], options: RunOptions, config: Config, environ: Mapping[str, str]
) -> list[Node]:
    """The run's graph for its shard (the graph as it is when the run is not sharded)."""
    state = run_state(config)
    state.shard = None
    flag, variable = options.shard, environ.get(env_name("SHARD")) or None
    plan_flag = options.shard_plan
    plan_path = plan_flag or environ.get(env_name("SHARD_PLAN")) or None
    if not (flag or variable):
        if plan_flag:
            raise UsageError("--shard-plan: give --shard I/N too (which shard of the plan to run)")
        return nodes
    from gotasks.engine.shards import ShardSpec

    if not any(_key(node.call.task) in _shardable for node in nodes):
        if flag:
            spec = ShardSpec.parse(flag)
            raise UsageError(
                f"--shard {spec}: nothing in this run splits into shards (lint, test, build"
                " and the tasks that run them, such as ci, do)"
            )
        # GOTASKS_SHARD set for a whole CI job: its other commands run whole (and doctor
        # names a bad value among its findings).
        return nodes
    spec = ShardSpec.parse(flag or variable or "", "--shard" if flag else env_name("SHARD"))
    units = graph_units(nodes, config)
    names = [name for found in units.values() for name, _ in found]
    owners = {nodes[i].name.split("[")[0] for i in units}
    plan = _plan(spec, names, plan_path, owners, config)
    mine = set(plan.names(spec.index))
    drop = set()
    for i, found in units.items():
        chosen = [value for name, value in found if name in mine]
        if not chosen:
            drop.add(i)
        elif len(chosen) < len(found):
            nodes[i].call = _shardable[_key(nodes[i].call.task)][1](nodes[i].call, chosen)
    state.shard = spec
    here = len([n for n in names if n in mine])
    if not here:
        console.info(f"shard {spec}: no units in this shard ({len(names)} units in all): passes")
    else:
        console.info(
            f"shard {spec}: {here} of {len(names)} units, expected"
            f" {plan.expected(spec.index):.1f}s of {plan.total():.1f}s"
            + (f" (plan {plan_path})" if plan_path else " (from this history)")
        )
    return without(nodes, drop)


def _plan(
    spec: ShardSpec, names: list[str], plan_path: str | None, owners: set[str], config: Config
) -> ShardPlan:
    from gotasks.engine.shards import costed, read_plan, reconcile, split

    if not plan_path:
        return split(costed(names, unit_durations(config)), spec.count)
    planned = read_plan(Path(plan_path))
    if planned.count != spec.count:
        raise UsageError(
            f"--shard {spec}: {plan_path} plans {planned.count} shards, not {spec.count}"
        )
    fitted = reconcile(planned, names)
    if fitted.added:
        listed = ", ".join(f"{name} -> {i}" for name, i in fitted.added)
        console.warn(
            f"{plan_path}: {len(fitted.added)} unit(s) new since the plan, each to the"
            f" lightest shard: {listed}"
        )
    # A plan for ci also lists the units of tasks this run does not have: not gone.
    gone = [n for n in fitted.removed if n.split("[")[0] in owners]
    if gone:
        console.warn(f"{plan_path}: {len(gone)} planned unit(s) no longer exist: {', '.join(gone)}")
    return fitted.plan
