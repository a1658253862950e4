"""An SDK install's record: its stages, and on failure the error and what was rolled back,
appended to .gotasks/sdk-install.log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gotasks.core.files import locked_beside
from gotasks.core.scrub import scrub


class InstallLog:
    """The stages of one install, appended to .gotasks/sdk-install.log as one block."""

    def __init__(self, path: Path | None, title: str) -> None:
        self.path = path
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.lines = [f"{stamp} {title}"]

    def add(self, line: str) -> None:
        self.lines.append(f"  {line}")

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with locked_beside(self.path), self.path.open("a", encoding="utf-8") as f:
                f.write(scrub("\n".join(self.lines)) + "\n\n")
        except OSError:
            pass  # the log must never be why an install fails
