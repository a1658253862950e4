"""How long after it is spawned each command takes the stop signals over: `gotasks --list`
against `inv --list` (both `python -m`, in this repository) and the floor, a Python script
whose first line takes them; interleaved, medians.

Until then a SIGINT/SIGTERM/SIGHUP ends the command as Python does (the README's
Reliability, Signals); from then on it ends with 130. The moment is read from
/proc/PID/status: SIGTERM among the caught signals (Python alone catches only SIGINT).
Linux only. Each round polls as fast as it can, so the figures carry the poll's own
granularity (well under a millisecond).

    python benchmarks/signal_window.py             # 15 rounds, a table
    python benchmarks/signal_window.py --rounds 31 --json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    # The floor: a script whose first line takes SIGTERM (Python's own start-up, site).
    "python": [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, print); time.sleep(0.2)",
    ],
    "gotasks": [sys.executable, "-m", "gotasks", "--list"],
    "inv": [sys.executable, "-m", "invoke", "--list"],
}


def caught_sigterm(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def window(command: list[str]) -> float | None:
    """Seconds from the spawn to the take-over; None if the command ended first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    run = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while run.poll() is None:
            if caught_sigterm(run.pid):
                return time.perf_counter() - start
        return None
    finally:
        run.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            taken = window(command)
            if taken is not None:
                samples[name].append(taken)
    medians = {name: statistics.median(s) for name, s in samples.items() if s}
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"median_seconds": medians, "rounds": args.rounds, "load1": load}))
        return
    print(f"spawn -> stop signals taken over (median of {args.rounds}, load {load:.1f})")
    for name, median in medians.items():
        print(f"  {name:8} {median * 1000:7.1f} ms")
    if "gotasks" in medians and "inv" in medians:
        print(f"  inv's window is {medians['inv'] / medians['gotasks']:.1f}x gotasks'")
    if "gotasks" in medians and "python" in medians:
        extra = (medians["gotasks"] - medians["python"]) * 1000
        print(f"  gotasks takes them {extra:.1f} ms after Python could at the earliest")


if __name__ == "__main__":
    main()
