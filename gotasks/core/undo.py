"""Taking back a change that did not go through: each part done pushes the step that undoes
it, and a failure runs the steps last first, the reverse of the order the parts were done."""

from __future__ import annotations

from collections.abc import Callable


class Undo:
    """The steps that take back what a change did so far, each named for the log."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, step: Callable[[], None]) -> None:
        self._steps.append((what, step))

    def keep(self) -> None:
        """The change went through: nothing of it is taken back any more."""
        self._steps.clear()

    def rollback(self) -> list[tuple[str, OSError | None]]:
        """Run every step, last first, even after one failed: each one's name and the error
        that stopped it (None when it was taken back)."""
        done: list[tuple[str, OSError | None]] = []
        while self._steps:
            what, step = self._steps.pop()
            try:
                step()
            except OSError as error:
                done.append((what, error))
            else:
                done.append((what, None))
        return done
