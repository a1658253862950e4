"""A setup bundle's module files hashed against go.sum in a Python process of its own, while
the process that unpacked them installs the SDK.

On threads of the unpacking process the hashing held the GIL between its zlib and SHA-256
calls, and the SDK extraction, whose Python thread hands every tar header to GNU tar, waited
for it: `inv setup --from` unpacked yq's SDK 0.5 s slower than `tar xzf` did, in every round
of benchmarks/setup.py. Run before the extraction the hashing added its own time instead
(~0.4 s of CPU for yq's 41 zips). A process of its own shares only the cores, and it
shares them at the lowest priority while the SDK unpacks (`background`): beside GNU tar, the
inflating thread and the thread between them it still made the extraction 0.25 s slower
(2.09 s against 1.84 s niced, 1.79 s for `tar xzf`, medians of 4 rounds at load 4). Once the
install waits for it, it is given its normal priority back.

`python -m gotasks.go.sumcheck FOLDER` reads one JSON list of checks on stdin (each
`[path, version, go_mod, hash, named, where]`, bundle.check_file's arguments), checks them
in order and stops at the first mismatch: its message on stdout, exit 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from gotasks.go.gosum import SumLine

MISMATCH = 1  # the child's exit status when a file does not match


class SumCheck:
    """The checks of `checks` ((line, named, where) each) of the files under `folder`,
    started at once in a child process; `wait` gives its verdict."""

    def __init__(
        self,
        folder: Path,
        checks: list[tuple[SumLine, str, str]],
        what: str,
    ) -> None:
        self.what = what
        rows = [
            [line.path, line.version, line.go_mod, line.hash, named, where]
            for line, named, where in checks
        ]
        package = Path(__file__).resolve().parents[2]
        env = dict(os.environ)
        # This very gotasks, wherever the child's default path would find another.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(package), os.environ.get("PYTHONPATH", "")) if p
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._normal: int | None = None
        if not rows:
            return
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gotasks.go.sumcheck", str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # Its own session: Ctrl-C at a terminal reaches this process, which ends it.
            start_new_session=True,
        )
        data = json.dumps(rows).encode()
        # Fed from a thread: a big go.sum's list would otherwise wait here for the child
        # to start reading, and with it the SDK's extraction.
        self._feeder = threading.Thread(target=self._feed, args=(data,), daemon=True)
        self._feeder.start()
        self._normal = background(self.process.pid)

    def _feed(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(data)
            self.process.stdin.close()
        except OSError:
            pass  # it ended (killed, or failed at start): its exit says why

    def wait(self, check_stop: Callable[[], None] | None) -> None:
        """Wait for the verdict: a BundleError names the first file that did not match."""
        from gotasks.go.bundle import BundleError

        process = self.process
        if process is None:
            return
        if self._normal is not None:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid, self._normal)
        while True:
            if check_stop is not None:
                check_stop()
            try:
                process.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                continue
        self._feeder.join()
        assert process.stdout is not None and process.stderr is not None
        said = process.stdout.read().decode(errors="replace").strip()
        trace = process.stderr.read().decode(errors="replace").strip()
        process.stdout.close()
        process.stderr.close()
        self.process = None
        if process.returncode == 0:
            return
        if process.returncode == MISMATCH and said:
            raise BundleError(said)
        last = (trace.splitlines() or [f"exit {process.returncode}"])[-1]
        raise BundleError(f"{self.what}: its module files could not be checked: {last}")

    def close(self) -> None:
        """Ended, if it still runs (the unpacking was stopped or refused)."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def background(pid: int) -> int | None:
    """Run the process `pid` at the lowest priority, only where this process may give it
    its normal priority back (root, or a RLIMIT_NICE that allows it; not on Windows): that
    priority, else None (`pid` left as it is, or one step lower). A process niced for
    good could wait behind the machine's other work for ever."""
    if not hasattr(os, "setpriority"):
        return None
    try:
        normal = os.getpriority(os.PRIO_PROCESS, 0)
        if normal >= 19:
            return None
        os.setpriority(os.PRIO_PROCESS, pid, normal + 1)
        os.setpriority(os.PRIO_PROCESS, pid, normal)  # raising it back is allowed here
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    except OSError:
        return None
    return normal


def main(argv: list[str]) -> int:
    from gotasks.go.bundle import BundleError, check_file

    folder = Path(argv[0])
    for path, version, go_mod, hashed, named, where in json.load(sys.stdin.buffer):
        try:
            check_file(SumLine(path, version, bool(go_mod), hashed), folder, named, where)
        except BundleError as error:
            print(error, flush=True)
            return MISMATCH
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
