"""Where a matrix build is: targets done, and what each running `go build` is doing now."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import psutil

# The live processes of the task running the builds (None: not known, no phases shown).
ProcessTree = Callable[[], list[psutil.Process]]

# The tools go build runs, by what they say about the build's phase.
_PHASES = {"link": "linking", "compile": "compiling", "asm": "compiling", "cgo": "compiling"}


class BuildProgress:
    """`2/4 targets, linux/arm64 linking`: the live status of a matrix build.

    A target is done when every package of it is built. The phase of a running target comes
    from the processes its `go build` has started (compile, asm, link), found by the `-o`
    path the build gave it.
    """

    def __init__(self, units: list[tuple[str, Path]], processes: ProcessTree | None) -> None:
        # units: (target, output path) per go build
        self.targets = list(dict.fromkeys(target for target, _ in units))
        self.left = {t: sum(1 for u, _ in units if u == t) for t in self.targets}
        self.by_output = {str(path): target for target, path in units}
        self.processes = processes
        self.failed: set[str] = set()
        self.lock = threading.Lock()

    @property
    def done(self) -> int:
        return sum(1 for left in self.left.values() if left == 0)

    def finished(self, target: str, ok: bool) -> str | None:
        """One go build of `target` ended; the line to show when that was its last one."""
        with self.lock:
            self.left[target] -= 1
            self.failed |= {target} if not ok else set()
            if self.left[target]:
                return None
            word = "FAILED" if target in self.failed else "built"
            return f"{target} {word} ({self.done}/{len(self.targets)} targets)"

    def __call__(self) -> str:
        with self.lock:
            text = f"{self.done}/{len(self.targets)} targets"
        phases = self.phases()
        running = [f"{target} {phases[target]}" for target in self.targets if target in phases]
        return ", ".join([text, *running])

    def phases(self) -> dict[str, str]:
        """target -> linking, compiling or building (go itself at work: loading, waiting)."""
        if self.processes is None:
            return {}
        found: dict[str, str] = {}
        tree = self.processes()
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                cmdline = proc.cmdline()
                if len(cmdline) < 2 or Path(cmdline[0]).name != "go" or cmdline[1] != "build":
                    continue
                target = self._target_of(cmdline)
                if target is None or not self.left.get(target):
                    continue
                tools = {Path(child.name()).name for child in proc.children(recursive=True)}
                phase = next((p for tool, p in _PHASES.items() if tool in tools), "building")
                # linking beats compiling when two packages of one target are at work
                if found.get(target) != "linking":
                    found[target] = phase
        return found

    def _target_of(self, cmdline: list[str]) -> str | None:
        for flag, value in itertools.pairwise(cmdline):
            if flag == "-o":
                return self.by_output.get(value)
        return None
