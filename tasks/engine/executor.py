"""The executor invoke uses (via invoke.yaml): the whole graph, prepared once, then run."""

from __future__ import annotations

from typing import Any

from invoke.exceptions import Exit
from invoke.executor import Executor
from invoke.parser.context import ParserContext
from invoke.tasks import Call

from tasks.engine.decorator import GoTask
from tasks.engine.errors import GoTasksError
from tasks.engine.graph import expand
from tasks.engine.run import RUN_OPTIONS, RunOptions, dimension_values, prepare


class GoTasksExecutor(Executor):
    """Runs invoke's pre/post graph with run-wide options given to every task.

    Tasks run one after another for now; the parallel scheduler replaces `_run`.
    """

    def execute(self, *tasks: str | tuple[str, dict[str, Any]] | ParserContext) -> dict[Any, Any]:
        calls = self.normalize(tasks)
        direct = list(calls)
        try:
            options = RunOptions()
            for call in calls:
                options = options.merged(RunOptions.from_kwargs(call.kwargs), "command line")
            prepare(self.config, options)
            run_kwargs = {name: getattr(options, name) for name in RUN_OPTIONS}
            graph = expand(calls, lambda dim: dimension_values(dim, self.config), run_kwargs)
            for call in graph:
                if isinstance(call.task, GoTask) and call.task.claim_error:
                    raise call.task.claim_error
        except GoTasksError as error:
            raise Exit(str(error), code=error.exit_code) from None
        return self._run(graph, direct)

    def _run(self, graph: list[Call], direct: list[Call]) -> dict[Any, Any]:
        results: dict[Any, Any] = {}
        direct_tasks = {call.task for call in direct}
        for call in graph:
            config = self.config
            config.load_collection(self.collection.configuration(call.called_as))
            config.load_shell_env()
            context = call.make_context(config, core_parse_result=self.core)
            result = call.task(context, *call.args, **call.kwargs)
            if call.task in direct_tasks and call.autoprint:
                print(result)
            results[call.task] = result
        return results
