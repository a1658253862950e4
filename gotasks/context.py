"""The glue between invoke's config and the Go domain: settings, toolchain, modules, go runs."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from gotasks.core import console, scrub
from gotasks.core.errors import Stopped, TaskFailed, UsageError
from gotasks.engine.procs import filter_echo
from gotasks.engine.run import (
    App,
    RunOption,
    RunOptions,
    RunState,
    register_app,
    register_dimension,
    register_facts,
    run_state,
)
from gotasks.paths import project_root, state_dir

if TYPE_CHECKING:
    from gotasks.go.environment import GoEnvironment
    from gotasks.go.modules import Module
    from gotasks.go.sdk.selection import Selection
    from gotasks.go.toolchain import Toolchain
    from gotasks.settings import Settings


@dataclass(eq=False)
class GotasksRun(RunState):
    """A gotasks run's state: the engine's part (RunState: options, scheduler settings,
    shard, shared objects) and gotasks' own, filled by the setup steps below. A task reads
    it through `run_of(c.config)` (or settings_of, toolchain_of, modules_of)."""

    settings: Settings | None = None  # prepare_settings: the env's validated settings
    # prepare_toolchain: the go, the Go environment every command gets, and which Go the
    # project asked for (None: the go on PATH)
    toolchain: Toolchain | None = None
    environment: GoEnvironment | None = None
    selection: Selection | None = None
    modules: list[Module] | None = None  # modules_of: the env's Go modules, found once


def run_of(config: Config) -> GotasksRun:
    """The state of the run `config` belongs to (engine.run.run_state, gotasks' type)."""
    state = run_state(config)
    assert isinstance(state, GotasksRun), "gotasks' context.register() was not called"
    return state


# What gotasks tells the engine: its name, its variables' prefix and its own run-wide
# options, each listed in `inv -h TASK`'s closing line after the one it names.
GOTASKS = App(
    name="gotasks",
    env_prefix="GOTASKS_",
    options=(
        RunOption(
            "env",
            "the env: a config/<env>.yaml such as dev, test or prod (default: $GOTASKS_ENV,"
            " test when $CI is set, else dev)",
            after="",
        ),
        RunOption(
            "go",
            "the Go version to use: 1.22.5, 1.22 or latest (default: $GOTASKS_GO, .go-version,"
            " go.mod's toolchain line, go.version, else the go on PATH)",
            after="summary",
        ),
        RunOption("install", "install that Go version first when it is missing", False, "go"),
        RunOption(
            "cluster",
            "run the module tasks on the Dask cluster whose scheduler is at this address, e.g."
            " tcp://HOST:8786 ($GOTASKS_CLUSTER, scheduler.cluster; needs gotasks[cluster])",
            after="explain",
        ),
    ),
    prepared_per="env",
    state=GotasksRun,
)


def user_values() -> dict[str, str]:
    """What ${VAR} in the config means: the user's own value (shell, else `go env -w`),
    never one an earlier `eval "$(inv env)"` exported."""
    from gotasks.go.goenvfile import default_go_env_file, with_go_env_file
    from gotasks.go.shellstate import user_environ

    environ = user_environ(os.environ)
    return with_go_env_file(environ, default_go_env_file(os.environ, sys.platform))


def prepare_settings(config: Config, options: RunOptions) -> None:
    """Before anything runs: every env's settings validated, the selected one on the config.

    Needs no go, so the sdk tasks run on a machine without one.
    """
    from gotasks.configcache import remembering_loader
    from gotasks.lookups import set_writable
    from gotasks.settings import load_settings

    root, values = project_root(), user_values()
    set_writable(not config.run.dry)
    # Every other env's files are checked too. Each env is loaded from what an earlier run
    # loaded from the same bytes with the same variables, when there is such a run.
    settings = load_settings(root, options.value("env"), values, remembering_loader(root, values))
    scrub.add(known_secrets(settings, os.environ))
    run = run_of(config)
    run.settings = settings
    run.scheduler, run.state_dir = dict(settings.section("scheduler")), state_dir(settings.root)
    # What a user's own task reads (the README's c.config.gotasks.env, .values, .settings).
    config.gotasks = {"settings": settings, "env": settings.env, "values": settings.raw}
    # Tasks run side by side: none may read the terminal's stdin.
    config.run.in_stream = False


# Where a run's credentials can come from besides the settings' go.env: the variables go
# and the SDK installs read.
_SECRET_VARIABLES = (
    "GOPROXY",
    "GOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOINSECURE",
    "GOTASKS_SDK_MIRROR",
    "GOTASKS_COMPANY_PROXY",
)


def known_secrets(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every password and token in a URL this run may use: the env's Go variables, the SDK
    mirror and sources, and the same variables in the environment. go prints such URLs in
    its own messages (a lone token unredacted), which gotasks then hides (engine.scrub)."""
    from gotasks.go.redact import secrets_in

    sdk = settings.section("sdk")
    texts = [
        *settings.go_env.values(),
        str(sdk.get("mirror") or ""),
        *(str(item) for item in sdk.get("sources") or ()),
        *(environ.get(name, "") for name in _SECRET_VARIABLES),
    ]
    return [secret for text in texts for secret in secrets_in(text)]


def prepare_toolchain(config: Config, options: RunOptions) -> None:
    """The go the project asks for found (installed with --install), targets checked, and
    the Go environment computed.

    Every c.run of any task (a user's own included) gets the env's Go variables, that go's
    GOROOT, and its bin/ first on PATH through invoke's run.env.
    """
    from gotasks.go.environment import compute_tags, go_environment
    from gotasks.go.toolchain import check_targets
    from gotasks.lookups import targets_of

    settings = settings_of(config)
    selection = selection_of(settings, options.value("go"))
    # A dry run installs nothing: without the Go it asks for, it stops as a real run
    # without --install would.
    toolchain = choose_toolchain(
        settings, selection, bool(options.value("install")) and not config.run.dry
    )
    check_targets(
        settings.section("build")["targets"],
        toolchain,
        settings.where,
        targets_of(settings.root, toolchain),
    )
    rules = [(rule.rule, rule.tags) for rule in settings.tag_rules]
    tags = compute_tags(settings.tags, rules, toolchain)
    environment = go_environment(settings.env, settings.go_env, tags, settings.where)
    if selection is not None:
        # The project chose this go: it must not switch to another behind our back.
        environment.variables["GOTOOLCHAIN"] = "local"
    run = run_of(config)
    run.toolchain, run.environment, run.selection = toolchain, environment, selection
    path = os.pathsep.join([str(toolchain.goroot / "bin"), os.environ.get("PATH", "")])
    config.run.env = {**environment.variables, "GOROOT": str(toolchain.goroot), "PATH": path}


def selection_of(settings: Settings, flag: str | None) -> Selection | None:
    """The Go version this project asks for, and where (None: it asks for none)."""
    from gotasks.go.sdk.selection import select

    where = settings.where(("go", "version"))
    return select(settings.root, flag, os.environ, settings.go_version, where)


def matching_path_go(selection: Selection, root: Path) -> Toolchain | None:
    """The go on PATH, if it is a version the selection accepts (1.26 takes any 1.26.x)."""
    from gotasks.lookups import toolchain_at

    if shutil.which("go") is None:
        return None  # checked first: find_toolchain's own "not found" is an error
    try:
        on_path = toolchain_at(root)
    except UsageError:
        return None
    return on_path if selection.request.matches(on_path.version, stable=True) else None


def choose_toolchain(settings: Settings, selection: Selection | None, install: bool) -> Toolchain:
    """The installed SDK the selection names, else the go on PATH if it is that version,
    else (with --install) a fresh install; no selection: the go on PATH."""
    from gotasks.lookups import toolchain_at

    if selection is None:
        return toolchain_at(settings.root)
    from gotasks.go.sdk.selection import installed_match
    from gotasks.go.toolchain import find_toolchain
    from gotasks.sdkconfig import installer_of, store_of

    store = store_of(settings, os.environ)
    installed = installed_match(store, selection.request)
    if installed is not None:
        return toolchain_at(settings.root, installed.go)
    on_path = matching_path_go(selection, settings.root)
    if on_path is not None:
        return on_path
    wanted = selection.request
    if install:
        try:
            # Stdout may be what `eval "$(inv env --install)"` reads: the install reports
            # on stderr.
            installed = installer_of(settings, os.environ, out=sys.stderr).install(wanted)
        except KeyboardInterrupt:
            # Before the scheduler owns Ctrl-C: the install rolled back; exit 130, not 1.
            raise Stopped(f"interrupted: the install of Go {wanted} was rolled back") from None
        return find_toolchain(installed.go)
    raise UsageError(
        f"Go {wanted} ({selection.origin}) is not installed: run `inv sdk.install {wanted}`,"
        " or add --install"
    )


def settings_of(config: Config) -> Settings:
    settings = run_of(config).settings
    assert settings is not None, "the settings setup step did not run"
    return settings


def toolchain_of(config: Config) -> tuple[Toolchain, GoEnvironment]:
    """The go binary and the Go environment of this run (found by prepare_run)."""
    run = run_of(config)
    toolchain, environment = run.toolchain, run.environment
    assert toolchain is not None and environment is not None, "the toolchain step did not run"
    return toolchain, environment


def module_header(c: Context, action: str, mod: Module, extra: str = "") -> None:
    """`==> test examples/hello (example.com/hello) [prod, go1.26.8]`: what runs, where, with
    which env and which go."""
    toolchain, _ = toolchain_of(c.config)
    go = toolchain.version_text
    console.header(f"{action} {mod.label} ({mod.path}) [{settings_of(c.config).env}, {go}{extra}]")


def modules_of(config: Config) -> list[Module]:
    """The run's modules, discovered once (a monorepo's walk is not cheap)."""
    from gotasks.go.modules import discover

    run = run_of(config)
    if run.modules is None:  # a run is one env's: another --env is another state
        settings = settings_of(config)
        run.modules = discover(settings.root, settings.modules)
    return list(run.modules)


def module_names(config: Config) -> list[str]:
    modules = modules_of(config)
    if not modules:
        raise UsageError(f"no Go module (go.mod) found under {settings_of(config).root}")
    return [m.label for m in modules]


def module_of(c: Context, wanted: str) -> Module:
    from gotasks.go.modules import find

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
    read_only: bool = False,
) -> Result:
    """Run a Go tool in `cwd` with the run's Go environment.

    A non-zero exit raises TaskFailed when `check` is set; otherwise read `result.exited`.
    Under `inv --dry` the command is shown, not run (its result is empty and exit 0),
    unless it is `read_only`: a query that changes nothing (go list), whose answer shapes
    the commands the task would run.
    """
    env = {**c.config.run.env, **(extra_env or {})}
    # invoke's c.cd() does not quote the folder; every word here is quoted.
    command = f"cd {shlex.quote(str(cwd))} && {shlex.join(argv)}"
    options: dict[str, Any] = {"env": env, "warn": True, "hide": hide, "in_stream": False}
    if read_only:
        options["dry"] = False
    if out_stream is not None:
        options["out_stream"] = out_stream
    result = c.run(command, **options)
    assert result is not None
    if check and result.exited != 0:
        words = " ".join(Path(argv[0]).name.split() + argv[1:2])
        raise TaskFailed(f"{words} failed (exit {result.exited}) in {cwd}")
    return result


def run_facts(config: Config) -> list[tuple[str, str]]:
    """What a run's report says it ran with: env, go, commit, and the command line."""
    # Loaded only when a report asks for it: reading git costs a gitpython import.
    from gotasks.go.buildinfo import read_vcs
    from gotasks.go.redact import redact

    facts: list[tuple[str, str]] = []
    run = run_of(config)
    if run.settings is not None:
        settings = run.settings
        facts.append(("env", settings.env))
        if run.toolchain is not None:
            toolchain = run.toolchain
            facts.append(("go", f"{toolchain.version_text} ({toolchain.go})"))
        vcs = read_vcs(settings.root)
        if vcs is None:
            facts.append(("commit", "none (not a git repository, or no commit yet)"))
        else:
            facts.append(("commit", vcs.commit + (" (dirty)" if vcs.dirty else "")))
    facts.append(("command", redact(shlex.join(["inv", *sys.argv[1:]]))))
    return facts


def dry_run(c: Context) -> bool:
    """Is this `inv --dry`? Commands only echo then; a task writes nothing itself either."""
    return bool(c.config.run.dry)


def register() -> None:
    """gotasks on the engine: its run-wide options and variables, the redaction of what a
    command line echoes, the `module` fan-out and the facts a report names."""
    from gotasks.go.redact import redact

    register_app(GOTASKS)
    filter_echo(redact)
    register_dimension("module", module_names)
    register_facts(run_facts)
