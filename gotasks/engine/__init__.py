"""The generic engine: task claims, run options, execution; knows nothing of Go."""

from gotasks.engine.decorator import GoTask, task

__all__ = ["GoTask", "task"]
