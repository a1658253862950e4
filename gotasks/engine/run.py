"""Run-wide options (--env, ...) and the hooks that prepare a run before any task starts."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from invoke.config import Config

from gotasks.core.errors import UsageError

# name -> (help text, default); every gotasks task accepts these, and they reach every
# task of the run. A default's type is the flag's type for invoke (None: a string).
RUN_OPTIONS: dict[str, tuple[str, Any]] = {
    "env": (
        "the env: a config/<env>.yaml such as dev, test or prod (default: $GOTASKS_ENV,"
        " test when $CI is set, else dev)",
        None,
    ),
    "jobs": ("most tasks at once (default: $GOTASKS_JOBS, scheduler.jobs, else no cap)", None),
    "keep_going": (
        "after a failure, run everything that does not depend on it ($GOTASKS_KEEP_GOING;"
        " ci's default)",
        False,
    ),
    "fail_fast": (
        "after a failure, start nothing more ($GOTASKS_FAIL_FAST; the default but in ci)",
        False,
    ),
    "trace": ("write a Chrome trace of the run to this file ($GOTASKS_TRACE)", None),
    "report": ("write an HTML report of the run to this file ($GOTASKS_REPORT)", None),
    "output": ("group (a block per task, default) or prefixed ($GOTASKS_OUTPUT)", None),
    "summary": (
        "short (failures, kills, skips, the 10 slowest and counts; default) or full: a row"
        " per task ($GOTASKS_SUMMARY)",
        None,
    ),
    "go": (
        "the Go version to use: 1.22.5, 1.22 or latest (default: $GOTASKS_GO, .go-version,"
        " go.mod's toolchain line, go.version, else the go on PATH)",
        None,
    ),
    "install": ("install that Go version first when it is missing", False),
    "shard": (
        "run only shard I of N of the lint, test and build work, e.g. 2/4, split by learned"
        " durations ($GOTASKS_SHARD)",
        None,
    ),
    "shard_plan": (
        "with --shard, split as this plan says (written by inv shard.plan) ($GOTASKS_SHARD_PLAN)",
        None,
    ),
    "force": ("run every task, even one that is up to date ($GOTASKS_FORCE)", False),
    "explain": ("say, per task, why it ran: what changed since its last success", False),
}


def run_wide_flags() -> list[str]:
    """--env, --jobs, ...: the flags every task takes."""
    return ["--" + name.replace("_", "-") for name in RUN_OPTIONS]


@dataclass(frozen=True)
class RunOptions:
    env: str | None = None
    jobs: str | None = None
    keep_going: bool = False
    fail_fast: bool = False
    trace: str | None = None
    report: str | None = None
    output: str | None = None
    summary: str | None = None
    go: str | None = None
    install: bool = False
    shard: str | None = None
    shard_plan: str | None = None
    force: bool = False
    explain: bool = False

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> RunOptions:
        return cls(
            **{name: kwargs.get(name, default) for name, (_, default) in RUN_OPTIONS.items()}
        )

    def merged(self, other: RunOptions, where: str) -> RunOptions:
        """The options of a run whose tasks were typed with `self` and `other`."""
        values: dict[str, Any] = {}
        for name in RUN_OPTIONS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine and theirs and mine != theirs:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{where}: {flag}={mine} and {flag}={theirs} in one run")
            values[name] = mine or theirs
        return RunOptions(**values)


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
    """Run the prepare hooks the run's tasks need (`needs`: their names; None: all) once
    per run, and again only for a different --env."""
    # Only the env changes what the hooks compute; a task reached inside a run (a pre
    # task, with no --env of its own) keeps the run's.
    state = config.get("gotasks_run")
    same_env = state is not None and options.env in (None, state.get("env"))
    done = set(state.get("done") or ()) if same_env else set()
    env = state.get("env") if same_env else options.env
    ran = False
    for name, hook in _prepare_hooks:
        if name not in done and (needs is None or name in needs):
            hook(config, options)
            done.add(name)
            ran = True
    # Written only when it changed: the run's tasks share one config, and a write makes
    # invoke rebuild the whole of it under the feet of the other tasks reading it.
    if ran or not same_env:
        config.gotasks_run = {"env": env, "done": sorted(done)}
