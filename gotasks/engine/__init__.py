"""The generic engine: task claims, run options, execution; knows nothing of Go.

`task` and `ResourceTask` are loaded on first use: importing one engine module (stops, which the
`gotasks` command installs before anything else) must not load invoke and the decorator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gotasks.engine.decorator import ResourceTask, task

__all__ = ["ResourceTask", "task"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gotasks.engine import decorator

        return getattr(decorator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
