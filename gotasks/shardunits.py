"""The units --shard splits the Go tasks into: a module for lint, a (module, package) for
test, a (module, target) for build; and each task narrowed to the units of its shard."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

from invoke.config import Config
from invoke.context import Context
from invoke.tasks import Call

from gotasks.build import build, build_unit, chosen_targets
from gotasks.context import modules_of, settings_of, toolchain_of
from gotasks.lint import lint
from gotasks.test import package_patterns, test, test_unit

if TYPE_CHECKING:
    pass

# The tasks a shard plan splits into units, by name (shard.py plans them: a task module
# imports no other task module, so the composition lives here).
SPLITTABLE = {"lint": lint, "test": test, "build": build}


def _narrowed(call: Call, **kwargs: Any) -> Call:
    return Call(
        call.task, called_as=call.called_as, args=tuple(call.args), kwargs={**call.kwargs, **kwargs}
    )


def _test_units(call: Call, config: Config) -> list[tuple[str, Any]]:
    from gotasks.engine.graph import call_name
    from gotasks.go.modules import find

    mod = find(modules_of(config), call.kwargs["module"])
    patterns = package_patterns(call.kwargs.get("packages")) or list(
        settings_of(config).section("test")["packages"]
    )
    toolchain, _ = toolchain_of(config)
    # A look-up to plan the run, as go env is: not echoed, run with the run's Go settings.
    listed = subprocess.run(
        [str(toolchain.go), "list", "-e", "-f", "{{.ImportPath}}", "--", *patterns],
        cwd=mod.dir,
        env={**os.environ, **config.run.env},
        capture_output=True,
        text=True,
        check=False,
    )
    packages = listed.stdout.split()
    if listed.returncode != 0 or not packages:
        # go cannot list them (a broken go.mod): the module's tests are one unit, and go
        # test says what is wrong in the shard that runs it.
        return [(call_name(call), None)]
    return [(test_unit(mod, p), p) for p in packages]


def _test_narrow(call: Call, packages: list[Any]) -> Call:
    if None in packages:
        return call
    return _narrowed(call, packages=" ".join(packages))


def _build_units(call: Call, config: Config) -> list[tuple[str, Any]]:
    from gotasks.go.modules import find

    mod = find(modules_of(config), call.kwargs["module"])
    targets = chosen_targets(
        Context(config), bool(call.kwargs.get("host")), list(call.kwargs.get("target") or [])
    )
    return [(build_unit(mod, t), t) for t in targets]


def _build_narrow(call: Call, targets: list[Any]) -> Call:
    return _narrowed(call, host=False, target=list(targets))


def _lint_units(call: Call, config: Config) -> list[tuple[str, Any]]:
    from gotasks.engine.graph import call_name

    return [(call_name(call), None)]


def register() -> None:
    from gotasks.engine.sharding import register_shardable

    register_shardable(test, _test_units, _test_narrow)
    register_shardable(build, _build_units, _build_narrow)
    register_shardable(lint, _lint_units, lambda call, _: call)
