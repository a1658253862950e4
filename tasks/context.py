"""The glue between invoke's config and the Go domain: settings, toolchain, modules, go runs."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import IO, Any

from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from tasks.engine import console
from tasks.engine.errors import TaskFailed, UsageError
from tasks.engine.run import RunOptions, on_prepare, register_dimension
from tasks.go.environment import GoEnvironment, go_environment
from tasks.go.goenvfile import with_go_env_file
from tasks.go.modules import Module, discover, find
from tasks.go.shellstate import user_environ
from tasks.go.toolchain import Toolchain, check_targets, find_toolchain
from tasks.paths import project_root, state_dir
from tasks.settings import Settings, load_settings


def prepare_run(config: Config, options: RunOptions) -> None:
    """Before anything runs: settings validated, go found, targets checked, env computed.

    Tasks read c.config.gotasks; every c.run of any task (a user's own included) gets the
    env's Go variables and the toolchain's bin/ first on PATH through invoke's run.env.
    """
    # ${VAR} means the user's own value (shell, else `go env -w`), never one an earlier
    # `eval "$(inv env)"` exported.
    toolchain = find_toolchain()
    environ = with_go_env_file(user_environ(os.environ), toolchain.goenv)
    settings = load_settings(project_root(), options.env, environ)
    check_targets(settings, toolchain)
    environment = go_environment(settings, toolchain)
    config.gotasks = {"settings": settings, "env": settings.env, "values": settings.raw}
    config.gotasks_go = {"toolchain": toolchain, "env": environment}
    path = os.pathsep.join([str(toolchain.goroot / "bin"), os.environ.get("PATH", "")])
    config.run.env = {**environment.variables, "PATH": path}
    # Tasks run side by side: none may read the terminal's stdin.
    config.run.in_stream = False
    config.gotasks_scheduler = {
        **settings.section("scheduler"),
        "state_dir": str(state_dir(settings.root)),
    }


def settings_of(config: Config) -> Settings:
    settings = config.gotasks.settings
    assert isinstance(settings, Settings)
    return settings


def toolchain_of(config: Config) -> tuple[Toolchain, GoEnvironment]:
    """The go binary and the Go environment of this run (found by prepare_run)."""
    toolchain, environment = config.gotasks_go.toolchain, config.gotasks_go.env
    assert isinstance(toolchain, Toolchain) and isinstance(environment, GoEnvironment)
    return toolchain, environment


def module_header(c: Context, action: str, mod: Module, extra: str = "") -> None:
    """`==> test examples/hello (example.com/hello) [prod]`: what runs, where, with which env."""
    console.header(f"{action} {mod.rel} ({mod.path}) [{settings_of(c.config).env}{extra}]")


def modules_of(config: Config) -> list[Module]:
    """The run's modules, discovered once (a monorepo's walk is not cheap)."""
    settings = settings_of(config)
    key = f"{settings.root}:{settings.env}"  # each env may list its own modules
    cached = config.get("gotasks_modules")
    if cached is None or cached.get("key") != key:
        cached = {"key": key, "modules": discover(settings)}
        config.gotasks_modules = cached
    modules: list[Module] = list(cached["modules"])
    return modules


def module_names(config: Config) -> list[str]:
    modules = modules_of(config)
    if not modules:
        raise UsageError(f"no Go module (go.mod) found under {settings_of(config).root}")
    return [m.rel for m in modules]


def module_of(c: Context, wanted: str) -> Module:
    return find(modules_of(c.config), wanted)


def go(c: Context, args: list[str], cwd: Path, **kwargs: Any) -> Result:
    """Run `go ARGS` in `cwd` with the run's Go environment (see run_tool)."""
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
    check: bool = False,
) -> Result:
    """Run a Go tool in `cwd` with the run's Go environment.

    A non-zero exit raises TaskFailed when `check` is set; otherwise read `result.exited`.
    """
    env = {**c.config.run.env, **(extra_env or {})}
    # invoke's c.cd() does not quote the folder; every word here is quoted.
    command = f"cd {shlex.quote(str(cwd))} && {shlex.join(argv)}"
    options: dict[str, Any] = {"env": env, "warn": True, "hide": hide, "in_stream": False}
    if out_stream is not None:
        options["out_stream"] = out_stream
    result = c.run(command, **options)
    assert result is not None
    if check and result.exited != 0:
        words = " ".join(Path(argv[0]).name.split() + argv[1:2])
        raise TaskFailed(f"{words} failed (exit {result.exited}) in {cwd}")
    return result


def register() -> None:
    on_prepare(prepare_run)
    register_dimension("module", module_names)
