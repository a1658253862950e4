"""The engine is generic: the app registers its run-wide options, its variables' prefix and
its name (engine.run.register_app); the engine's own code names none of gotasks' words."""

from __future__ import annotations

import dataclasses
import inspect
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from invoke.config import Config
from invoke.context import Context
from invoke.tasks import Call

from gotasks import context
from gotasks.core.errors import UsageError
from gotasks.engine import run, task
from gotasks.engine.capacity import detect, overrides
from gotasks.engine.graph import expand
from gotasks.engine.leases import lease_folder
from gotasks.engine.plan import run_variable_problems
from gotasks.engine.run import App, RunOption, RunOptions
from gotasks.engine.shards import ShardSpec

ENGINE = Path(run.__file__).parent


@pytest.fixture
def bare_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine as it is before any app registers (restored afterwards)."""
    monkeypatch.setattr(run, "_app", App(name="tasks", env_prefix="TASKS_"))
    monkeypatch.setattr(run, "_options", run.GENERIC_OPTIONS)


def test_gotasks_options_sit_where_help_always_listed_them() -> None:
    context.register()
    assert run.run_wide_flags() == [
        "--env",
        "--jobs",
        "--keep-going",
        "--fail-fast",
        "--trace",
        "--report",
        "--output",
        "--summary",
        "--go",
        "--install",
        "--shard",
        "--shard-plan",
        "--force",
        "--explain",
        "--cluster",
    ]
    helps = run.run_option_help()
    assert "$GOTASKS_JOBS" in helps["jobs"] and "{prefix}" not in helps["jobs"]
    assert helps["env"].startswith("the env: a config/<env>.yaml")


def test_registering_twice_is_the_same_registration() -> None:
    context.register()
    first = run.run_wide_flags()
    context.register()
    assert run.run_wide_flags() == first


def test_the_engine_alone_has_only_its_generic_options(bare_engine: None) -> None:
    flags = run.run_wide_flags()
    assert "--jobs" in flags and "--force" in flags
    assert not {"--env", "--go", "--install"} & set(flags)
    assert run.env_name("JOBS") == "TASKS_JOBS"
    assert "$TASKS_JOBS" in run.run_option_help()["jobs"]


def test_the_generic_options_are_the_fields_of_run_options() -> None:
    names = [f.name for f in dataclasses.fields(RunOptions) if f.name != "app"]
    assert names == [option.name for option in run.GENERIC_OPTIONS]
    defaults = {f.name: f.default for f in dataclasses.fields(RunOptions) if f.name != "app"}
    assert defaults == {option.name: option.default for option in run.GENERIC_OPTIONS}


def test_an_apps_options_are_placed_after_the_one_they_name(bare_engine: None) -> None:
    run.register_app(
        App(
            "demo",
            "DEMO_",
            (RunOption("stage", "which stage", after=""), RunOption("fast", "", False, "jobs")),
        )
    )
    assert run.run_wide_flags()[:3] == ["--stage", "--jobs", "--fast"]
    assert run.env_name("JOBS") == "DEMO_JOBS"


@pytest.mark.parametrize(
    "options",
    [
        (RunOption("jobs", "taken by the engine", after=""),),
        (RunOption("one", "", after=""), RunOption("one", "", after="")),
        (RunOption("where", "no place given"),),
        (RunOption("where", "", after="no-such-option"),),
    ],
)
def test_a_clash_or_an_unknown_place_is_refused(
    bare_engine: None, options: tuple[RunOption, ...]
) -> None:
    with pytest.raises(ValueError, match="run-wide option"):
        run.register_app(App("demo", "DEMO_", options))
    assert "--where" not in run.run_wide_flags()  # nothing half-registered


def test_app_options_travel_by_name_and_merge_like_the_engines() -> None:
    context.register()
    options = RunOptions.from_kwargs({"env": "prod", "jobs": "2", "install": True})
    assert options.jobs == "2" and options.value("env") == "prod"
    assert options.value("install") is True and options.value("go") is None
    merged = options.merged(RunOptions.from_kwargs({"go": "1.22"}), "command line")
    assert merged.value("go") == "1.22" and merged.value("env") == "prod"
    assert merged.as_kwargs()["jobs"] == "2"
    with pytest.raises(UsageError, match=r"^command line: --env=prod and --env=dev in one run$"):
        options.merged(RunOptions.from_kwargs({"env": "dev"}), "command line")


def test_a_task_made_before_the_app_registers_takes_its_options(bare_engine: None) -> None:
    @task
    def early(c: Context, verbose: bool = False) -> None:
        """Made before the app registered."""

    assert "stage" not in inspect.signature(early.body).parameters
    run.register_app(App("demo", "DEMO_", (RunOption("stage", "which stage", after=""),)))
    # graph.expand hands the run's options to the tasks whose signature takes them: a pre
    # task is never parsed, so the signature must have them before any parse.
    assert "stage" in inspect.signature(early.body).parameters
    nodes = expand([Call(early)], lambda dimension: [], {"stage": "two"})
    assert nodes[0].call.kwargs == {"stage": "two"}
    helps = {argument.name: argument.help for argument in early.get_arguments()}
    assert {"stage", "verbose", "jobs"} <= set(helps)
    assert helps["stage"] == "which stage" and "$DEMO_JOBS" in str(helps["jobs"])


def test_variables_and_the_lease_folder_follow_the_apps_prefix_and_name(
    bare_engine: None, tmp_path: Path
) -> None:
    run.register_app(App("demo", "DEMO_"))
    assert overrides()["cpus"] == ("DEMO_CPUS", "scheduler.cpus")
    assert detect(environ={"DEMO_CPUS": "1"}).cpus == 1
    assert detect(environ={"DEMO_CPUS": "1", "GOTASKS_CPUS": "2"}).sources["cpus"] == "DEMO_CPUS=1"
    assert lease_folder({"XDG_RUNTIME_DIR": str(tmp_path)}) == tmp_path / "demo"
    assert lease_folder({"DEMO_LEASE_DIR": "/x"}) == Path("/x")
    assert run_variable_problems({"DEMO_JOBS": "many"}) == [
        "DEMO_JOBS: expected a whole number, got 'many'"
    ]
    assert run_variable_problems({"GOTASKS_JOBS": "many"}) == []


def test_the_engines_run_options_name_nothing_of_gotasks() -> None:
    text = (ENGINE / "run.py").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    for word in ('"env"', '"go"', '"install"', "GOTASKS_", "config/<env>"):
        assert word not in code, f"engine/run.py names {word}"


# --- the run's state -------------------------------------------------------------------


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two setup steps of our own (instead of gotasks'), recording each time they run."""
    ran: list[str] = []
    monkeypatch.setattr(run, "_prepare_hooks", [])
    for name in ("first", "second"):
        run.on_prepare(lambda config, options, name=name: ran.append(name), name)
    return ran


def test_a_config_has_one_state_whatever_is_written_to_it() -> None:
    config = Config()
    state = run.run_state(config)
    config.anything = {"written": True}  # invoke merges the whole config again
    config.run.echo = True
    assert run.run_state(config) is state
    assert "_run_state" not in config  # not a config value: no merge copies it


def test_a_fresh_config_is_a_fresh_run() -> None:
    assert run.run_state(Config()) is not run.run_state(Config())


def test_gotasks_state_carries_its_own_part() -> None:
    context.register()
    state = context.run_of(Config())
    assert isinstance(state, context.GotasksRun) and isinstance(state, run.RunState)
    assert state.settings is None and state.toolchain is None and state.shard is None


def test_shared_makes_one_object_per_kind_even_from_many_threads() -> None:
    state = run.RunState()
    made: list[object] = []

    class Slow:
        def __init__(self) -> None:
            made.append(self)
            time.sleep(0.01)  # widens the window two threads would both make one in

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda _: state.shared(Slow), range(16)))
    assert len(made) == 1 and all(one is made[0] for one in found)
    assert state.shared(dict, lambda: {"a": 1}) == {"a": 1}
    assert state.shared(dict) == {"a": 1}  # made once: a later maker is not called


def test_setup_steps_run_once_a_run_and_again_for_another_env(steps: list[str]) -> None:
    context.register()  # prepared_per: env
    config = Config()
    run.prepare(config, RunOptions.from_kwargs({"env": "prod"}), {"first"})
    first = run.run_state(config)
    assert steps == ["first"] and first.prepared_per == "prod"
    run.prepare(config, RunOptions.from_kwargs({}), None)  # a pre task: the run's env
    run.prepare(config, RunOptions.from_kwargs({"env": "prod"}), None)
    assert steps == ["first", "second"] and run.run_state(config) is first
    first.shard = ShardSpec.parse("1/2")
    run.prepare(config, RunOptions.from_kwargs({"env": "dev"}), None)
    again = run.run_state(config)
    assert steps == ["first", "second", "first", "second"]
    assert again is not first and again.prepared_per == "dev" and again.shard == first.shard
    assert isinstance(again, context.GotasksRun)


def test_gotasks_keeps_no_run_state_in_config_keys() -> None:
    package = ENGINE.parent
    for path in sorted(package.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            keys = re.findall(r"config\.(?:get\()?[\"']?(gotasks_\w+)", line)
            assert not keys, f"{path.relative_to(package)}:{number}: config key {keys[0]}"
