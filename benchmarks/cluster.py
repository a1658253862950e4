"""A cluster run against a local one: `inv test` over a generated monorepo of 8 modules
(copies of the example, each with a CPU-bound test added), run here with 1 core and on a
LocalCluster of 2 single-core workers (each in its own folder, own Go build cache), rounds
interleaved, medians.

Prints the makespan ratio (cluster / local; the aim is <= 0.6) and the per-task remote
overhead: the median test[mN] time as the client saw it in the cluster run less its median
in the local run (the tree's transfer, scheduling, the worker's own `inv` start-up, output
and result; the aim is under 50 ms on loopback).

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
\tfor i := 0; i < 3_000_000; i++ {
\t\tsum = sha256.Sum256(sum[:])
\t}
\t_ = sum
}
"""


def make_monorepo(root: Path, modules: int) -> None:
    root.mkdir(parents=True)
    adopt_into(root)
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


def inv(root: Path, *args: str, **env: str) -> tuple[float, str]:
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
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"inv {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def task_times(stdout: str) -> dict[str, float]:
    """test[mN] -> seconds, from the `ok   test[m1] (12.3s)` lines."""
    found = {}
    for name, value, unit in re.findall(r"ok\s+(test\[m\d+\]) \(([\d.]+)(m?s)\)", stdout):
        found[name] = float(value) / (1000 if unit == "ms" else 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modules", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from distributed import LocalCluster

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
    local_runs, cluster_runs, local_tasks, remote_tasks = [], [], [], []
    try:
        inv(root, "test", "--cluster", cluster.scheduler_address)  # caches warm on both sides
        inv(root, "test", GOTASKS_CPUS="1")
        for _ in range(args.rounds):
            seconds, out = inv(root, "test", GOTASKS_CPUS="1")
            local_runs.append(seconds)
            local_tasks += list(task_times(out).values())
            seconds, out = inv(root, "test", "--cluster", cluster.scheduler_address)
            cluster_runs.append(seconds)
            remote_tasks += list(task_times(out).values())
    finally:
        cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()[0]
    figures = {
        "local_1_core_s": statistics.median(local_runs),
        "cluster_2x1_core_s": statistics.median(cluster_runs),
        "makespan_ratio": statistics.median(cluster_runs) / statistics.median(local_runs),
        "task_local_s": statistics.median(local_tasks),
        "task_remote_s": statistics.median(remote_tasks),
        "remote_overhead_per_task_s": statistics.median(remote_tasks)
        - statistics.median(local_tasks),
        "load_average": load,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:28} {value:8.3f}")


if __name__ == "__main__":
    main()
