"""Run-wide options (--env, ...) and the hooks that prepare a run before any task starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from invoke.config import Config

from tasks.engine.errors import UsageError

# name -> help text; every gotasks task accepts these, and they reach every task of the run.
RUN_OPTIONS: dict[str, str] = {
    "env": "the env: a config/<env>.yaml such as dev, test or prod (default: $GOTASKS_ENV,"
    " test when $CI is set, else dev)",
}


@dataclass(frozen=True)
class RunOptions:
    env: str | None = None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> RunOptions:
        return cls(env=kwargs.get("env"))

    def merged(self, other: RunOptions, where: str) -> RunOptions:
        """The options of a run whose tasks were typed with `self` and `other`."""
        if self.env and other.env and self.env != other.env:
            raise UsageError(f"{where}: --env={self.env} and --env={other.env} in one run")
        return RunOptions(env=self.env or other.env)


PrepareHook = Callable[[Config, RunOptions], None]
_prepare_hooks: list[PrepareHook] = []
# Values of a fan-out dimension (e.g. "module"), read from a prepared config.
DimensionProvider = Callable[[Config], list[str]]
_dimensions: dict[str, DimensionProvider] = {}


def on_prepare(hook: PrepareHook) -> None:
    """Register a hook run once per run (settings loading), before any task starts."""
    if hook not in _prepare_hooks:
        _prepare_hooks.append(hook)


def register_dimension(name: str, provider: DimensionProvider) -> None:
    _dimensions[name] = provider


def dimension_values(name: str, config: Config) -> list[str]:
    if name not in _dimensions:
        raise UsageError(f"no provider for the fan-out dimension {name!r}")
    return _dimensions[name](config)


def prepare(config: Config, options: RunOptions) -> None:
    """Run the prepare hooks unless this config was already prepared with these options."""
    state = config.get("gotasks_run")
    if state is not None and state.get("options") == options:
        return
    for hook in _prepare_hooks:
        hook(config, options)
    config.gotasks_run = {"options": options}
