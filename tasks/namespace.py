"""The invoke namespace: every task module of gotasks in one collection."""

from __future__ import annotations

from invoke.collection import Collection

from tasks import (
    adopt,
    bench,
    benchreport,
    build,
    ci,
    context,
    docker,
    doctor,
    goenv,
    hooks,
    lint,
    sdk,
    test,
)
from tasks.engine.procs import GroupRunner


def build_namespace() -> Collection:
    context.register()
    ns = Collection()
    # Each command in its own process group: measured, limited, stopped as one.
    ns.configure({"runners": {"local": GroupRunner}})
    for task in (
        lint.lint,
        test.test,
        build.build,
        ci.ci,
        goenv.show_env,
        doctor.doctor,
        adopt.init,
    ):
        ns.add_task(task)
    # `inv bench` is the collection's default task, beside `inv bench.report`.
    benchmarks = Collection("bench")
    benchmarks.add_task(bench.bench, default=True)
    benchmarks.add_task(benchreport.report)
    ns.add_collection(benchmarks)
    ns.add_collection(sdk.collection())
    ns.add_collection(hooks.collection())
    ns.add_collection(docker.collection())
    return ns
