"""How long Ctrl-C takes to end a big run: gotasks against `make -j` on 2,000 sleeping jobs.

One project holds 2,000 tasks under `all`, each running `sleep 60` (claims of 0.01 CPU, so up
to 200 run at once on 2 cores), declared as gotasks tasks in its tasks.py and as targets of a
Makefile run with `make -j200`. Each round starts one of them in a session of its own, waits
until RUNNING of its sleeps are up (read from /proc), sends SIGINT to its whole process group
as a terminal's Ctrl-C does, and times the signal to the exit of the command, with every
sleep gone. gotasks and make are interleaved; medians.

Issue 18 asks for 2 s from Ctrl-C to the end of a 2,000-task run, every task's processes
stopped and the summary and history written. tests/test_scale.py checks what is left behind
and the exit code; the time is measured here, where the load is printed beside it.

    python benchmarks/stop.py               # 5 rounds
    python benchmarks/stop.py --rounds 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from scale import ROOT, environment

COUNT = 2000
RUNNING = 21  # sleeps up before the signal: as tests/test_scale.py waits for

TASKS_PY = """\
import gotasks
from gotasks.engine import task

ns = gotasks.namespace()


def _body(name):
    def body(c):
        c.run("sleep 60")
    body.__name__ = name
    return body


_made = [task(cpu=0.01, mem="1M", name=f"t{i}")(_body(f"t{i}")) for i in range(%(count)d)]
for _t in _made:
    ns.add_task(_t)
ns.add_task(task(*_made, cpu=0.01, mem="1M", name="all")(lambda c: None))
"""


def write_project(folder: Path) -> None:
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "invoke.yaml", folder / "invoke.yaml")
    shutil.copytree(ROOT / "config", folder / "config")
    (folder / "tasks.py").write_text(TASKS_PY % {"count": COUNT})
    names = [f"t{i}" for i in range(COUNT)]
    lines = [".PHONY: all " + " ".join(names), "", "all: " + " ".join(names)]
    for name in names:
        lines += [f"{name}:", "\tsleep 60"]
    (folder / "Makefile").write_text("\n".join(lines) + "\n")


def sleeps(mark: str) -> list[int]:
    """PIDs of the round's sleeps: `sleep` processes whose environment carries its mark."""
    wanted = f"STOP_MARK={mark}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                if not handle.read().startswith(b"sleep\0"):
                    continue
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                if wanted in handle.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def one_stop(command: list[str], folder: Path, env: dict[str, str]) -> float:
    """Seconds from SIGINT (to the command's process group) to its exit with no sleep left."""
    mark = uuid.uuid4().hex
    process = subprocess.Popen(
        command,
        cwd=folder,
        env={**env, "STOP_MARK": mark},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(sleeps(mark)) < RUNNING:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{command[0]}: the run never got going in {folder}")
            time.sleep(0.05)
        sent = time.perf_counter()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
        while sleeps(mark):
            if time.perf_counter() - sent > 120:
                raise SystemExit(f"{command[0]}: sleeps left 120 s after Ctrl-C")
            time.sleep(0.01)
        return time.perf_counter() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in sleeps(mark):
            os.kill(pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds, medians taken")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if shutil.which("make") is None:
        print("make is not installed: it is the baseline", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gotasks-stop-") as work:
        folder = Path(work) / "project"
        write_project(folder)
        env = environment(Path(work))
        commands = {
            "gotasks": [sys.executable, "-m", "invoke", "all"],
            "make": ["make", "-j200", "all"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(one_stop(command, folder, env))
    load_after = os.getloadavg()
    gotasks_s = statistics.median(times["gotasks"])
    make_s = statistics.median(times["make"])
    figures = {
        "tasks": COUNT,
        "rounds": args.rounds,
        "gotasks_stop_s": round(gotasks_s, 3),
        "make_stop_s": round(make_s, 3),
        "ratio": round(gotasks_s / make_s, 2),
        "gotasks_all_s": [round(t, 3) for t in times["gotasks"]],
        "make_all_s": [round(t, 3) for t in times["make"]],
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"Ctrl-C in a run of {COUNT} sleeping tasks, {args.rounds} rounds, medians")
    print(
        f"load average (1, 5, 15 min): {figures['load_before']} before, "
        f"{figures['load_after']} after"
    )
    print(f"gotasks (inv all)   {gotasks_s:6.3f} s   {figures['gotasks_all_s']}")
    print(f"make -j200 all      {make_s:6.3f} s   {figures['make_all_s']}")
    print(f"gotasks / make      {figures['ratio']:6.2f}x   (issue 18: gotasks under 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
