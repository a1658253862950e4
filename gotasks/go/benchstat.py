"""Running the real benchstat (golang.org/x/perf/cmd/benchstat) on two files of benchmark
output, for those who want its own words beside gotasks' comparison."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gotasks.core.errors import TaskFailed

__all__ = ["BenchstatError", "benchstat_available", "run_benchstat"]


class BenchstatError(TaskFailed):
    """benchstat could not be run, or it exited non-zero."""

    def __init__(self, message: str, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


def benchstat_available() -> str | None:
    """The path of benchstat on PATH, or None."""
    return shutil.which("benchstat")


def run_benchstat(
    old_file: str | Path,
    new_file: str | Path,
    *,
    args: Sequence[str] = (),
    executable: str | None = None,
    command: Sequence[str] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run benchstat on two files of benchmark output and return what it prints.

    args go before the file names (e.g. ["-format", "csv"]); `command` runs it another way
    (["go", "tool", "golang.org/x/perf/cmd/benchstat"], in `cwd` with `env`). Raises
    BenchstatError when benchstat is missing, times out or exits non-zero.
    """
    if command is None:
        exe = executable or benchstat_available()
        if exe is None:
            raise BenchstatError("benchstat is not on PATH")
        command = [exe]
    cmd = [*command, *args, str(old_file), str(new_file)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=None if env is None else dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchstatError(f"could not run {command[0]}: {e}") from e
    if proc.returncode != 0:
        raise BenchstatError(
            f"benchstat exited with status {proc.returncode}: {proc.stderr.strip()}",
            proc.returncode,
            proc.stderr,
        )
    return proc.stdout
