"""The invoke namespace: every task module of gotasks in one collection."""

from __future__ import annotations

import os
import sys
from typing import Any

from invoke.collection import Collection
from invoke.context import Context

from gotasks import (
    adopt,
    bench,
    benchreport,
    build,
    ci,
    clean,
    cluster,
    context,
    docker,
    doctor,
    goenv,
    historyio,
    hooks,
    host,
    lint,
    remote,
    sdk,
    setup,
    shard,
    shardunits,
    test,
    tools,
)
from gotasks.core.errors import UsageError
from gotasks.engine import cli, task
from gotasks.engine.placement import register_connector
from gotasks.engine.procs import GroupRunner
from gotasks.engine.run import on_prepare, run_wide_flags


def _configured_default(config: Any) -> tuple[str, str]:
    settings = context.settings_of(config)
    name: str = settings.raw["default_task"]
    return name, f"{settings.where(('default_task',))}: default_task"


# The namespace is built before any config is read, so a bare `inv` runs this stand-in,
# and the executor runs the task the env's config names in its place.
@task(cpu=0.1, mem="16M", needs=("settings",), stands_for=_configured_default)
def default(c: Context) -> None:
    """What a bare `inv` runs: the task config's default_task names (ci unless set)."""
    # Reached only without gotasks' executor (invoke.yaml's tasks.executor_class).
    raise UsageError("inv: the default task needs gotasks' executor (see invoke.yaml)")


def register_setup_steps() -> None:
    """The steps that prepare a run, in the order they run: each once per run (again for
    another --env), before any task starts; a task's `needs=` names the ones it needs."""
    on_prepare(context.prepare_settings, "settings")
    on_prepare(context.prepare_toolchain, "toolchain")


def build_namespace() -> Collection:
    context.register()
    register_setup_steps()
    shardunits.register()
    register_connector(remote.connector)
    remote.import_ahead(sys.argv[1:], os.environ)
    cli.install(run_wide_flags())
    ns = Collection()
    # Each command in its own process group: measured, limited, stopped as one.
    ns.configure({"runners": {"local": GroupRunner}})
    for one in (
        lint.lint,
        lint.fmt,
        test.test,
        build.build,
        host.install,
        host.run,
        ci.ci_task(lint.lint, test.test, build.build),
        clean.clean,
        goenv.show_env,
        doctor.doctor,
        adopt.init,
    ):
        ns.add_task(one)
    ns.add_task(default, default=True)
    # `inv bench` is the collection's default task, beside `inv bench.report`.
    benchmarks = Collection("bench")
    benchmarks.add_task(bench.bench, default=True)
    benchmarks.add_task(benchreport.report)
    ns.add_collection(benchmarks)
    ns.add_collection(sdk.collection())
    ns.add_collection(hooks.collection())
    ns.add_collection(docker.collection())
    ns.add_collection(tools.collection())
    ns.add_collection(shard.collection())
    ns.add_collection(historyio.collection())
    ns.add_collection(cluster.collection())
    ns.add_collection(setup.collection(doctor.doctor, hooks.install))
    return ns
