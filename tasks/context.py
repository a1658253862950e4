"""The glue between invoke's config and the Go domain: settings, toolchain, modules, go runs."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import IO, Any

from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from tasks.engine.errors import UsageError
from tasks.engine.run import RunOptions, on_prepare, register_dimension
from tasks.go.environment import GoEnvironment, go_environment
from tasks.go.modules import Module, discover, find
from tasks.go.shellstate import user_environ
from tasks.go.toolchain import Toolchain, find_toolchain
from tasks.paths import project_root
from tasks.settings import Settings, load_settings


def prepare_settings(config: Config, options: RunOptions) -> None:
    """Load and validate config/<env>.yaml before anything runs; tasks read c.config.gotasks."""
    # ${VAR} in config means the user's own value, not one an earlier `inv env` exported.
    settings = load_settings(project_root(), options.env, user_environ(os.environ))
    config.gotasks = {"settings": settings, "env": settings.env, "values": settings.raw}


def settings_of(config: Config) -> Settings:
    settings = config.gotasks.settings
    assert isinstance(settings, Settings)
    return settings


def toolchain_of(config: Config) -> tuple[Toolchain, GoEnvironment]:
    """The go binary and the Go environment of this run, found once and kept in the config."""
    cached = config.get("gotasks_go")
    if cached is None:
        settings = settings_of(config)
        toolchain = find_toolchain()
        cached = {"toolchain": toolchain, "env": go_environment(settings, toolchain)}
        config.gotasks_go = cached
    toolchain, environment = cached["toolchain"], cached["env"]
    assert isinstance(toolchain, Toolchain) and isinstance(environment, GoEnvironment)
    return toolchain, environment


def module_names(config: Config) -> list[str]:
    modules = discover(settings_of(config))
    if not modules:
        raise UsageError(f"no Go module (go.mod) found under {settings_of(config).root}")
    return [m.rel for m in modules]


def module_of(c: Context, wanted: str) -> Module:
    return find(settings_of(c.config), wanted)


def go(c: Context, args: list[str], cwd: Path, **kwargs: Any) -> Result:
    """Run `go ARGS` in `cwd` with the run's Go environment; never raises on exit status."""
    toolchain, _ = toolchain_of(c.config)
    return run_tool(c, [str(toolchain.go), *args], cwd, **kwargs)


def run_tool(
    c: Context,
    argv: list[str],
    cwd: Path,
    *,
    extra_env: dict[str, str] | None = None,
    hide: bool | str = True,
    out_stream: IO[str] | None = None,
) -> Result:
    """Run a Go tool in `cwd` with the run's Go environment; never raises on exit status."""
    toolchain, environment = toolchain_of(c.config)
    # The toolchain's own bin first, so tools that call `go` get the same one.
    path = os.pathsep.join([str(toolchain.goroot / "bin"), os.environ.get("PATH", "")])
    env = {**environment.variables, "PATH": path, **(extra_env or {})}
    # invoke's c.cd() does not quote the folder; every word here is quoted.
    command = f"cd {shlex.quote(str(cwd))} && {shlex.join(argv)}"
    options: dict[str, Any] = {"env": env, "warn": True, "hide": hide, "in_stream": False}
    if out_stream is not None:
        options["out_stream"] = out_stream
    result = c.run(command, **options)
    assert result is not None
    return result


def register() -> None:
    on_prepare(prepare_settings)
    register_dimension("module", module_names)
