"""The generic engine: task claims, run options, execution; knows nothing of Go."""

from gotasks.engine.decorator import GoTask, task
from gotasks.engine.errors import GoTasksError, TaskFailed, UsageError

__all__ = ["GoTask", "GoTasksError", "TaskFailed", "UsageError", "task"]
