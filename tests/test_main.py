"""gotasks/main.py's first statement, in a fresh interpreter: importing the stop-signal module
loads no invoke (nothing heavy stands before the take-over), and after it the process counts
as a gotasks command (loaded_by_inv: the namespace marks the run for the watcher)."""

from __future__ import annotations

import subprocess
import sys

from helpers import clean_env

PROBE = """
import signal, sys
from gotasks.engine import stops
print(sorted(m for m in sys.modules if m.split(".")[0] in ("invoke", "yaml", "git", "psutil")))
print(stops.loaded_by_inv())
stops.take_over()
print(stops.loaded_by_inv())
print(all(signal.getsignal(s) is stops._handle for s in stops.STOP_SIGNALS))
"""


def test_the_take_over_comes_before_anything_heavy_and_makes_this_a_gotasks_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == ["[]", "False", "True", "True"], done.stdout
