"""A cluster run against a local one: `inv test` over a generated monorepo of 8 modules
(copies of the example, each with a CPU-bound test added), run here with 1 core and on a
LocalCluster of 2 single-core workers (each in its own folder, own Go build cache), rounds
interleaved, medians. Single-core for real: the local run is pinned to one core and each
worker (with all it starts) to another (CPU affinity; GOTASKS_CPUS=1 alone caps admission,
while go's compiler and `go test -p` would still use every core).

Every run is `inv test --count 1`: go runs the tests again rather than trust its test cache
(and gotasks does not skip them as up to date), so each round does the same work.

Prints the makespan ratio (cluster / local; the aim is <= 0.6) and the per-task remote
overhead: the median time of a task of next to no work (ping[mN]: `true`) as the client saw
it on a worker less its median here (the tree's transfer, scheduling, the worker's own `inv`
start-up, output and result; the aim is under 50 ms on loopback), with the load average
beside them. The 8 pings run at once, 4 on each single-core worker, so that figure has each
wait behind the others' work too; the ping of one module alone (ALONE_MODULES, each run's
--trace) gives the overhead of a task by itself. The test[mN] medians are printed too: on a
worker they also share the machine with the other worker's.

    python benchmarks/cluster.py [--rounds 3] [--modules 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hook import ROOT, adopt_into

EXAMPLE = ROOT / "examples" / "hello"
CPU_TEST = """package stats

import (
\t"crypto/sha256"
\t"testing"
)

func TestBusy(t *testing.T) {
\tsum := sha256.Sum256([]byte("gotasks"))
\tfor i := 0; i < 12_000_000; i++ {
\t\tsum = sha256.Sum256(sum[:])
\t}
\t_ = sum
}
"""


ALONE_MODULES = ("m1", "m2")  # each round, a ping of each of these alone, here and there

# A task with next to no work: what a run pays around a task, here and on a worker.
PING_TASK = """

from gotasks.engine import task


@task(cpu=1, mem="64M", each="module")
def ping(c, module=None):
    c.run("true")


ns.add_task(ping)
"""


def make_monorepo(root: Path, modules: int) -> None:
    root.mkdir(parents=True)
    adopt_into(root)
    with (root / "tasks.py").open("a") as tasks:
        tasks.write(PING_TASK)
    for i in range(1, modules + 1):
        folder = root / f"m{i}"
        shutil.copytree(EXAMPLE, folder)
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".go", ".mod"):
                text = path.read_text().replace("example.com/hello", f"example.com/m{i}")
                path.write_text(text)
        (folder / "stats" / "busy_test.go").write_text(CPU_TEST)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "m"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


def inv(root: Path, *args: str, cores: set[int] | None = None, **env: str) -> tuple[float, str]:
    """`inv ARGS` in root; with `cores`, it and everything it starts run on those alone."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    clean |= {"PYTHONPATH": str(ROOT), "GOTASKS_FORCE": "1", "NO_COLOR": "1", **env}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=root,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"inv {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def pin_process(cores: set[int]) -> None:
    """Every thread of this process on `cores` (an affinity is a thread's: threads and
    processes started later inherit it from the thread that starts them)."""
    for thread in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread), cores)


def task_times(stdout: str) -> dict[str, float]:
    """test[mN] -> seconds, from the `ok   test[m1] (12.3s)` lines (ping[mN] alike)."""
    found = {}
    for name, value, unit in re.findall(r"ok\s+(\w+\[m\d+\]) \(([\d.]+)(m?s)\)", stdout):
        found[name] = float(value) / (1000 if unit == "ms" else 1)
    return found


WARM_UP_RUNS = 8  # at most, for every module's tests to have run on every worker


def warm_every_worker(root: Path, argv: tuple[str, ...], modules: int) -> None:
    """Cluster runs until each module's tests ran on each worker (or WARM_UP_RUNS): go's
    build cache keys a test build by the package's folder, which is another on each worker
    (its own checkout), so a module's first test on a worker compiles it again. One warm-up
    run compiled each module on one worker only, and a round that placed it on the other
    paid the compile (about 0.6 to 0.9 s of a test here)."""
    seen: dict[str, set[str]] = {}
    for _ in range(WARM_UP_RUNS):
        out = inv(root, *argv)[1]
        for name, worker in re.findall(r"^  (test\[m\d+\])\s+ok\s.*\s(\S+)$", out, re.M):
            seen.setdefault(name, set()).add(worker)
        workers = set().union(*seen.values()) if seen else set()
        if len(seen) == modules and len(workers) >= 2 and all(w == workers for w in seen.values()):
            return
    print(f"cluster.py: after {WARM_UP_RUNS} runs, not every module ran on every worker: {seen}")


def trace_durations(path: Path) -> list[float]:
    """The tasks' seconds in a --trace file (a run of one task prints no time for it)."""
    doc = json.loads(path.read_text())
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    return [event["dur"] / 1e6 for event in events if event.get("ph") == "X"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modules", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    # The workers are processes of their own: they must import this gotasks, not an
    # installed one (run_node and the `inv` it starts come from the worker's import).
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    scratch = Path(tempfile.mkdtemp(prefix="gotasks-cluster-bench-"))
    root = scratch / "mono"
    make_monorepo(root, args.modules)
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=4,
        processes=True,
        resources={"CPU": 1, "MEM": 4 * 1024**3},
        memory_limit=0,
        dashboard_address=None,
        local_directory=str(scratch / "workers"),
    )
    # Single-core for real: GOTASKS_CPUS=1 caps what gotasks admits, not what go uses (the
    # compiler and `go test -p` spread over every core), so the local run is pinned to one
    # core and each worker (and what it starts: its warm inv, go, the tests) to another.
    # The client, the scheduler and this script run anywhere: they are the overhead.
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("cluster.py: needs two cores to pin two single-core workers to")
    with Client(cluster) as client:
        for address, core in zip(sorted(client.scheduler_info()["workers"]), cores, strict=False):
            client.run(pin_process, {core}, workers=[address])
    one = {cores[0]}
    local_runs: list[float] = []
    cluster_runs: list[float] = []
    times: dict[str, list[float]] = {"test_here": [], "test_there": []}
    times |= {"ping_here": [], "ping_there": [], "alone_here": [], "alone_there": []}
    load_before = os.getloadavg()[0]
    try:
        test = ("test", "--count", "1")
        there = ("--cluster", cluster.scheduler_address)
        warm_every_worker(root, (*test, *there), args.modules)
        inv(root, *test, cores=one, GOTASKS_CPUS="1")
        for _ in range(args.rounds):
            seconds, out = inv(root, *test, cores=one, GOTASKS_CPUS="1")
            local_runs.append(seconds)
            times["test_here"] += task_times(out).values()
            seconds, out = inv(root, *test, *there)
            cluster_runs.append(seconds)
            times["test_there"] += task_times(out).values()
            here = inv(root, "ping", cores=one, GOTASKS_CPUS="1")[1]
            times["ping_here"] += task_times(here).values()
            times["ping_there"] += task_times(inv(root, "ping", *there)[1]).values()
            for module in ALONE_MODULES:
                trace = scratch / "alone.json"
                inv(
                    root,
                    "ping",
                    "--module",
                    module,
                    "--trace",
                    str(trace),
                    cores=one,
                    GOTASKS_CPUS="1",
                )
                times["alone_here"] += trace_durations(trace)
                inv(root, "ping", "--module", module, *there, "--trace", str(trace))
                times["alone_there"] += trace_durations(trace)
    finally:
        cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()[0]  # over the last minute: the end of the measurement
    median = {name: statistics.median(values) for name, values in times.items()}
    figures = {
        "local_1_core_s": statistics.median(local_runs),
        "cluster_2x1_core_s": statistics.median(cluster_runs),
        "makespan_ratio": statistics.median(cluster_runs) / statistics.median(local_runs),
        "test_task_here_s": median["test_here"],
        "test_task_remote_s": median["test_there"],
        # A task of next to no work (ping: `true`), remote less local: the overhead itself.
        "ping_task_here_s": median["ping_here"],
        "ping_task_remote_s": median["ping_there"],
        "remote_overhead_per_task_s": median["ping_there"] - median["ping_here"],
        # One ping at a time (`--module mN`): the overhead of a task alone, not behind three
        # others on its worker's one core.
        "ping_alone_here_s": median["alone_here"],
        "ping_alone_remote_s": median["alone_there"],
        "remote_overhead_alone_s": median["alone_there"] - median["alone_here"],
        "load_average_start": load_before,
        "load_average_end": load,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:28} {value:8.3f}")


if __name__ == "__main__":
    main()
