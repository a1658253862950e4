"""Where tasks run when it is not all on this machine: the seam a cluster run plugs into.

A local run has no placement and the runner admits and runs every task itself. A run that
uses other machines (the app's `gotasks/remote/`) registers a connector; it is asked once
per run, after the plan is made, and answers None (a local run) or a Placement, which
then chooses the ready tasks to start, and where (`Task.where`), and runs the ones that
do not run here. The engine knows nothing of how they get there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from invoke.config import Config

from gotasks.core.errors import UsageError
from gotasks.engine.graph import Node, without
from gotasks.engine.run import RunOptions

if TYPE_CHECKING:
    # The planner (psutil, the history) loads with a run, not with the namespace that
    # registers a connector here.
    from gotasks.engine.plan import Plan, Task

# A cluster worker's `inv` runs the one node of the graph it was given, without its deps
# (the client ran those): the same graph expanded from the same tree and flags.
NODE_VARIABLE = "GOTASKS_NODE"
# Where that run lists the declared outputs of a task it found up to date (they were made
# by an earlier run on the worker, so nothing new shows they belong to this task): the
# worker sends them back all the same.
NODE_OUTPUTS_VARIABLE = "GOTASKS_NODE_OUTPUTS"


def note_node_outputs(names: list[str]) -> None:
    """In a worker's run of one node: these outputs (paths under the project root) are the
    task's, though this run did not write them."""
    listing = os.environ.get(NODE_OUTPUTS_VARIABLE)
    if listing and names:
        with open(listing, "a", encoding="utf-8") as out:
            out.write("".join(f"{name}\n" for name in names))


class Placement(Protocol):
    def choose(self, ready: list[Task], running: list[Task]) -> list[Task]:
        """The ready tasks (best first) to start now; each with `where` set to the worker
        it goes to, or None to run here."""
        ...

    def execute(self, task: Task) -> Any:
        """Run a task whose `where` is set, on the calling (worker) thread: its output into
        task.output, its measures into task.processes; raises invoke's Exit on failure, as
        a body does. A stop of task.processes (Ctrl-C) cancels it there."""
        ...

    def close(self) -> None:
        """The run ended: let go of the cluster."""
        ...


Connector = Callable[["Plan", Config, RunOptions, Mapping[str, str]], "Placement | None"]
_connector: Connector | None = None


def register_connector(connector: Connector) -> None:
    global _connector
    _connector = connector


def placement_for(
    plan: Plan, config: Config, options: RunOptions, environ: Mapping[str, str]
) -> Placement | None:
    return _connector(plan, config, options, environ) if _connector is not None else None


# A process that serves one run's nodes (a cluster worker's run server, remote/warm.py)
# registers a hook here: called once, with the run's config, when the graph is expanded; it
# returns only in the processes it forks, one per task, each with an environment of its own
# naming its node, which go on from here as that task's run.
NodeFork = Callable[[Config], None]
_node_fork: NodeFork | None = None


def register_node_fork(hook: NodeFork) -> None:
    global _node_fork
    _node_fork = hook


def only_the_node(nodes: list[Node], config: Config, environ: Mapping[str, str]) -> list[Node]:
    """The graph, or with $GOTASKS_NODE set just that node of it."""
    global _node_fork
    if _node_fork is not None:
        hook, _node_fork = _node_fork, None
        hook(config)  # a fork of this process comes back, its environ that of its task
    wanted = environ.get(NODE_VARIABLE)
    if not wanted:
        return nodes
    drop = {i for i, node in enumerate(nodes) if node.name != wanted}
    if len(drop) == len(nodes):
        raise UsageError(f"{NODE_VARIABLE}: no task {wanted!r} in this run's graph")
    return [Node(n.call, n.name) for n in without(nodes, drop)]
