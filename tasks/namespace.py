"""The invoke namespace: every task module of gotasks in one collection."""

from __future__ import annotations

from invoke.collection import Collection

from tasks import bench, build, ci, context, goenv, lint, test


def build_namespace() -> Collection:
    context.register()
    ns = Collection()
    for task in (lint.lint, test.test, bench.bench, build.build, ci.ci, goenv.show_env):
        ns.add_task(task)
    return ns
