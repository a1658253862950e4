"""`task`: invoke's task decorator plus resource claims and gotasks' run-wide options."""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any, overload

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.tasks import Task
from invoke.tasks import task as invoke_task

from gotasks.core.errors import Failure, UsageError, describe
from gotasks.engine.claims import Claims
from gotasks.engine.run import (
    RunOptions,
    dimension_values,
    env_name,
    on_register_app,
    prepare,
    run_option_help,
    run_options,
)


class _CheckedArgument(Argument):
    """A flag whose bad value (--count=abc) is a one-line usage error, not a traceback."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            wanted = "a whole number" if self.kind is int else f"a {self.kind.__name__}"
            raise Exit(f"--{self.name}: expected {wanted}, got {value!r}", code=2) from None


class ResourceTask(Task[Any]):
    """An invoke Task that carries its claims and, optionally, a fan-out dimension."""

    claims: Claims
    claim_error: UsageError | None
    each: str | None
    needs: tuple[str, ...] | None  # the prepare hooks it needs; None: every one
    # It reports a bad GOTASKS_* run setting itself (doctor): such a value does not stop it.
    diagnoses: bool
    forwards: tuple[str, ...]  # its flags that its pre tasks get too (when they take them)
    # A task that stands for another, named by the prepared config (a bare `inv`'s default):
    # (name, where the config says it). The executor runs that task in its place.
    stands_for: Callable[[Any], tuple[str, str]] | None
    # The body copes with `inv --dry`: with run.dry set its commands only echo and it
    # writes nothing itself. A dry run does not call a body without it.
    dry: bool
    # A failure in its run does not stop the other tasks (ci: each check's own verdict);
    # --fail-fast still does.
    keep_going: bool
    own_options: tuple[str, ...]
    own_help: dict[str, str]
    inner_body: Callable[..., Any]  # the function the decorator was given

    def __init__(
        self,
        body: Callable[..., Any],
        *args: Any,
        cpu: float = 1.0,
        mem: int | str = "256M",
        pool: str | None = None,
        exclusive: bool = False,
        timeout: float | None = None,
        each: str | None = None,
        needs: tuple[str, ...] | None = None,
        diagnoses: bool = False,
        forwards: tuple[str, ...] = (),
        stands_for: Callable[[Any], tuple[str, str]] | None = None,
        dry: bool = False,
        keep_going: bool = False,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or body.__name__
        self.claim_error = None
        try:
            self.claims = Claims.parse(name, cpu, mem, pool, exclusive, timeout)
        except UsageError as error:
            # Raised when a run starts, so `inv --list` still works and the message is one line.
            self.claim_error = error
            self.claims = Claims()
        self.each = each
        self.needs = needs
        self.diagnoses = diagnoses
        self.forwards = forwards
        self.stands_for = stands_for
        self.dry = dry
        self.keep_going = keep_going
        # The body's own parameters (not the run-wide ones the wrapper adds): `inv -h TASK`.
        self.own_signature = inspect.signature(body)  # read once: every task pays at import
        self.own_options = tuple(self.own_signature.parameters)[1:]
        self.own_help = dict(kwargs.get("help") or {})
        self.inner_body = body
        # Long flags only: invoke's automatic short flags differ from task to task
        # (-c is --cover in test, --count in bench), which is worse than none.
        kwargs.setdefault("auto_shortflags", False)
        super().__init__(_with_run_options(body, self.own_signature, each, needs), *args, **kwargs)
        self.with_run_options()
        _made.append(weakref.ref(self))

    def with_run_options(self) -> None:
        """The body's signature and help with every run-wide option registered by now. The
        app registers its own when it builds its namespace, after its task modules were
        imported (and their tasks made): then every task made so far takes them too
        (_take_the_apps_options), before invoke's parser, help or the graph reads them."""
        self.help = {**_option_parts()[1], **self.own_help}
        signature = _signature_with_run_options(self.own_signature)
        self.body.__signature__ = signature  # type: ignore[attr-defined]

    def __deepcopy__(self, memo: dict[int, Any]) -> ResourceTask:
        # invoke deep-copies every task of a module it loads, and with it every task in its
        # pre list, and theirs: quadratic in a graph of thousands (`ci` over every module).
        # A task is a definition nobody changes after the decorator: the copy is itself, so
        # a pre task and the collection's task stay one object.
        return self

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        taken = {name for argument in arguments for name in argument.names}
        for argument in arguments:
            argument.__class__ = _CheckedArgument
            # -j is make's; the one short flag gotasks keeps, on every task alike.
            if argument.name == "jobs" and "j" not in taken:
                argument.names = (*argument.names, "j")
        return arguments


# Every ResourceTask made, for an app that registers its options after some were made.
_made: list[weakref.ref[ResourceTask]] = []


def _take_the_apps_options() -> None:
    alive = [task for ref in _made if (task := ref()) is not None]
    _made[:] = [weakref.ref(task) for task in alive]
    for task in alive:
        task.with_run_options()


on_register_app(_take_the_apps_options)


def _with_run_options(
    body: Callable[..., Any],
    signature: inspect.Signature,
    each: str | None,
    needs: tuple[str, ...] | None,
) -> Callable[..., Any]:
    """Wrap `body` (of `signature`) so that it accepts the run-wide options and reports
    errors in one line."""

    @functools.wraps(body)
    def run_task(c: Context, *args: Any, **kwargs: Any) -> Any:
        options = RunOptions.from_kwargs(kwargs)
        for option in run_options():
            if option.name not in signature.parameters:
                kwargs.pop(option.name, None)
        try:
            prepare(c.config, options, needs)
            if each and kwargs.get(each) is None:
                # Outside the gotasks executor, fan out here, one value after another.
                return [
                    body(c, *args, **{**kwargs, each: value})
                    for value in dimension_values(each, c.config)
                ]
            return body(c, *args, **kwargs)
        except Failure as error:
            raise Exit(str(error), code=error.exit_code) from None
        except OSError as error:
            # The machine said no (a full disk, a read-only dist/, a path too long): one line.
            raise Exit(describe(error), code=1) from None

    return run_task


def _signature_with_run_options(signature: inspect.Signature) -> inspect.Signature:
    """A body's signature plus, keyword-only, every run-wide option it does not take itself."""
    params = list(signature.parameters.values())
    extra = [p for p in _option_parts()[0] if p.name not in signature.parameters]
    kw_only = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    others = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    # Valid by construction (the body's own parameters, in its order, then keyword-only
    # ones under names it does not use), so not validated again: Signature's check of every
    # parameter was most of what signing the namespace's tasks cost each `inv`.
    return inspect.Signature(
        [*others, *kw_only, *extra],
        return_annotation=signature.return_annotation,
        __validate_parameters__=False,
    )


# Made once per set of run-wide options (a new tuple when an app registers) and prefix, not
# once per task: every task of the namespace is signed when gotasks loads.
_parts: tuple[object, str, tuple[inspect.Parameter, ...], dict[str, str]] | None = None


def _option_parts() -> tuple[tuple[inspect.Parameter, ...], dict[str, str]]:
    """The run-wide options as keyword-only parameters, and their help."""
    global _parts
    options, prefix = run_options(), env_name("")
    if _parts is None or _parts[0] is not options or _parts[1] != prefix:
        kind = inspect.Parameter.KEYWORD_ONLY
        parameters = tuple(inspect.Parameter(o.name, kind, default=o.default) for o in options)
        _parts = (options, prefix, parameters, run_option_help())
    return _parts[2], _parts[3]


@overload
def task(body: Callable[..., Any], /) -> ResourceTask: ...
@overload
def task(*pre: ResourceTask, **kwargs: Any) -> Callable[[Callable[..., Any]], ResourceTask]: ...
def task(*args: Any, **kwargs: Any) -> Any:
    """invoke.task, plus cpu=, mem=, pool=, exclusive=, timeout=, each= (fan-out),
    needs= (the prepare hooks it needs, by name; default all), diagnoses= (it reports
    bad GOTASKS_* run settings itself, so they do not stop its run), forwards= (flags
    its pre tasks get too), stands_for= (the configured task it stands for), dry= (the
    body may be called by `inv --dry`: it then only echoes its commands and writes nothing)
    and keep_going= (a failure in its run does not stop the other tasks; --fail-fast does)."""
    kwargs.setdefault("klass", ResourceTask)
    return invoke_task(*args, **kwargs)
