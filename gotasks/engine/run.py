"""Run-wide options, the app that registers its own, and the hooks that prepare a run
before any task starts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from invoke.config import Config

from gotasks.core.errors import UsageError

if TYPE_CHECKING:
    from gotasks.engine.shards import ShardSpec


@dataclass(frozen=True)
class RunOption:
    """A flag every task takes (`--name`); its value reaches every task of the run.

    `default`'s type is the flag's type for invoke (None: a string). In `help`, {prefix}
    stands for the app's env-var prefix. `after`, for an app's option: the option it is
    listed after in `inv -h TASK` ("" : first)."""

    name: str
    help: str
    default: Any = None
    after: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


# The engine's own: how a run is scheduled, reported, sharded and skipped.
GENERIC_OPTIONS: tuple[RunOption, ...] = (
    RunOption("jobs", "most tasks at once (default: ${prefix}JOBS, scheduler.jobs, else no cap)"),
    RunOption(
        "keep_going",
        "after a failure, run everything that does not depend on it (${prefix}KEEP_GOING;"
        " ci's default)",
        False,
    ),
    RunOption(
        "fail_fast",
        "after a failure, start nothing more (${prefix}FAIL_FAST; the default but in ci)",
        False,
    ),
    RunOption("trace", "write a Chrome trace of the run to this file (${prefix}TRACE)"),
    RunOption("report", "write an HTML report of the run to this file (${prefix}REPORT)"),
    RunOption("output", "group (a block per task, default) or prefixed (${prefix}OUTPUT)"),
    RunOption(
        "summary",
        "short (failures, kills, skips, the 10 slowest and counts; default) or full: a row"
        " per task (${prefix}SUMMARY)",
    ),
    RunOption(
        "shard",
        "run only shard I of N of the lint, test and build work, e.g. 2/4, split by learned"
        " durations (${prefix}SHARD)",
    ),
    RunOption(
        "shard_plan",
        "with --shard, split as this plan says (written by inv shard.plan) (${prefix}SHARD_PLAN)",
    ),
    RunOption("force", "run every task, even one that is up to date (${prefix}FORCE)", False),
    RunOption("explain", "say, per task, why it ran: what changed since its last success", False),
)


@dataclass(frozen=True)
class App:
    """What the application on top of the engine tells it (register_app): its name (the
    machine-wide lease folder's), the prefix of the variables that stand in for the
    run-wide flags and limits (${prefix}JOBS, ${prefix}CPUS, ...), and its own run-wide
    options, which the engine hands through as RunOptions.app."""

    name: str
    env_prefix: str
    options: tuple[RunOption, ...] = ()
    # The app option whose value the prepared state depends on (gotasks: env): a task
    # called with another value prepares the run again, on a new state.
    prepared_per: str | None = None
    # The run's state: RunState, or the app's subclass of it with the app's own part.
    state: type[RunState] = field(default_factory=lambda: RunState)


# Called after an app registers: the tasks made before it take its options (decorator.py).
_on_register: list[Callable[[], None]] = []


def on_register_app(listener: Callable[[], None]) -> None:
    if listener not in _on_register:
        _on_register.append(listener)


def register_app(app: App) -> None:
    """Make `app` the engine's app: its options join the generic ones, each after the
    option it names (a name taken twice, or an unknown `after`, is a programming error)."""
    global _app, _options
    ordered = list(GENERIC_OPTIONS)
    for option in app.options:
        names = [known.name for known in ordered]
        if option.name in names:
            raise ValueError(f"run-wide option {option.name!r} is registered twice")
        if option.after is None or (option.after and option.after not in names):
            raise ValueError(f"run-wide option {option.name!r}: after={option.after!r}")
        ordered.insert(names.index(option.after) + 1 if option.after else 0, option)
    _app, _options = app, tuple(ordered)
    for listener in _on_register:
        listener()


def current_app() -> App:
    return _app


def env_name(name: str) -> str:
    """The variable that stands in for `name`: the app's prefix, then `name` (JOBS)."""
    return _app.env_prefix + name


def run_options() -> tuple[RunOption, ...]:
    """Every run-wide option, generic and the app's, in the order help lists them."""
    return _options


def run_option_help() -> dict[str, str]:
    return {option.name: option.help.format(prefix=_app.env_prefix) for option in _options}


def run_wide_flags() -> list[str]:
    """--env, --jobs, ...: the flags every task takes."""
    return [option.flag for option in _options]


_GENERIC_NAMES = frozenset(option.name for option in GENERIC_OPTIONS)


@dataclass(frozen=True)
class RunOptions:
    """The run-wide options' values: the engine's as fields, the app's by name in `app`."""

    jobs: str | None = None
    keep_going: bool = False
    fail_fast: bool = False
    trace: str | None = None
    report: str | None = None
    output: str | None = None
    summary: str | None = None
    shard: str | None = None
    shard_plan: str | None = None
    force: bool = False
    explain: bool = False
    app: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RunOptions:
        values = {option.name: kwargs.get(option.name, option.default) for option in _options}
        app = {name: value for name, value in values.items() if name not in _GENERIC_NAMES}
        return cls(**{k: v for k, v in values.items() if k in _GENERIC_NAMES}, app=app)

    def value(self, name: str) -> Any:
        """The value of the run-wide option `name`, generic or the app's."""
        if name in _GENERIC_NAMES:
            return getattr(self, name)
        default = next((o.default for o in _options if o.name == name), None)
        return self.app.get(name, default)

    def as_kwargs(self) -> dict[str, Any]:
        """Every run-wide option by name, as a task's keyword arguments."""
        return {option.name: self.value(option.name) for option in _options}

    def merged(self, other: RunOptions, where: str) -> RunOptions:
        """The options of a run whose tasks were typed with `self` and `other`."""
        values: dict[str, Any] = {}
        for option in _options:
            mine, theirs = self.value(option.name), other.value(option.name)
            if mine and theirs and mine != theirs:
                flag = option.flag
                raise UsageError(f"{where}: {flag}={mine} and {flag}={theirs} in one run")
            values[option.name] = mine or theirs
        return RunOptions.from_kwargs(values)


_T = TypeVar("_T")
# Where a run's config holds its RunState: a plain attribute of the Config object, not a
# config value (writing a value makes invoke merge the whole config again, under the feet
# of the tasks reading it, and a merge copies what it holds).
_STATE_ATTRIBUTE = "_run_state"


@dataclass(eq=False)
class RunState:
    """One run's state, shared by all its tasks: `run_state(c.config)` (the app's typed
    accessor for its subclass: gotasks' context.run_of).

    The engine's part is here; an app subclasses it (App.state) with what its setup steps
    find (gotasks: settings, toolchain, modules). A module's own object for the run (lint's
    staged changes, the up-to-date checks' caches) is `shared(ItsClass)`: made on first use,
    one per run, typed by its class."""

    options: RunOptions = field(default_factory=RunOptions)  # the run-wide options' values
    prepared_per: Any = None  # the value of the app's prepared_per option it was prepared for
    done: set[str] = field(default_factory=set)  # the setup steps that ran
    # The config's scheduler section (jobs, pools, output, ...) and the folder of the run's
    # state (history, shard plans): what the app's setup found, for the engine.
    scheduler: dict[str, Any] = field(default_factory=dict)
    state_dir: Path | None = None
    shard: ShardSpec | None = None  # the shard this run is (None: not sharded)
    # Where echoed commands go (None: stdout); a dry run sends them past its capture.
    echo_stream: IO[str] | None = None
    _shared: dict[type, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shared(self, kind: type[_T], make: Callable[[], _T] | None = None) -> _T:
        """The run's one `kind` object, made by `make` (default: `kind()`) on first use."""
        with self._lock:
            if kind not in self._shared:
                self._shared[kind] = (make or kind)()
            found: _T = self._shared[kind]
            return found


def run_state(config: Config) -> RunState:
    """The state of the run `config` belongs to: prepared by the executor before any task
    starts (a config no run prepared gets a new one, as when a body is called directly)."""
    state: RunState | None = getattr(config, _STATE_ATTRIBUTE, None)
    if state is None:
        state = _attach(config, _app.state())
    return state


def _attach(config: Config, state: RunState) -> RunState:
    # object.__setattr__: invoke's Config turns an attribute it does not have into a value.
    object.__setattr__(config, _STATE_ATTRIBUTE, state)
    return state


# An engine used without an app (its own unit tests) reads TASKS_* variables.
_app = App(name="tasks", env_prefix="TASKS_")
_options: tuple[RunOption, ...] = GENERIC_OPTIONS


PrepareHook = Callable[[Config, RunOptions], None]
# (name, hook), run in this order; a task names the ones it needs (ResourceTask's needs=).
_prepare_hooks: list[tuple[str, PrepareHook]] = []
# Values of a fan-out dimension (e.g. "module"), read from a prepared config.
DimensionProvider = Callable[[Config], list[str]]
_dimensions: dict[str, DimensionProvider] = {}


def on_prepare(hook: PrepareHook, name: str | None = None) -> None:
    """Register a hook run once per run (settings loading), before any task starts."""
    entry = (name or hook.__name__, hook)
    if entry not in _prepare_hooks:
        _prepare_hooks.append(entry)


# What the app knows of a run that its report should show (env, toolchain, commit...).
FactsProvider = Callable[[Config], list[tuple[str, str]]]
_facts: list[FactsProvider] = []


def register_facts(provider: FactsProvider) -> None:
    if provider not in _facts:
        _facts.append(provider)


def run_facts(config: Config) -> list[tuple[str, str]]:
    """The app's facts about this run, in registration order."""
    return [fact for provider in _facts for fact in provider(config)]


def register_dimension(name: str, provider: DimensionProvider) -> None:
    _dimensions[name] = provider


def dimension_values(name: str, config: Config) -> list[str]:
    if name not in _dimensions:
        raise UsageError(f"no provider for the fan-out dimension {name!r}")
    return _dimensions[name](config)


def prepare(config: Config, options: RunOptions, needs: Collection[str] | None = None) -> None:
    """Run the setup steps the run's tasks need (`needs`: their names; None: all) once
    per run, and again, on a new RunState, only for another value of the app's
    `prepared_per` option."""
    # Only that option (--env) changes what the steps compute; a task reached inside a run
    # (a pre task, with no --env of its own) keeps the run's.
    given = options.value(_app.prepared_per) if _app.prepared_per else None
    state: RunState | None = getattr(config, _STATE_ATTRIBUTE, None)
    if state is None or (given is not None and given != state.prepared_per):
        fresh = _app.state(options=options, prepared_per=given)
        if state is not None:
            fresh.shard = state.shard  # the graph was cut once, for the whole run
        state = _attach(config, fresh)
    for name, hook in _prepare_hooks:
        if name not in state.done and (needs is None or name in needs):
            hook(config, options)
            state.done.add(name)
