"""gotasks' scheduler against `make -jN` and the lower bound, on synthetic task graphs.

Each graph is generated twice, as gotasks tasks (appended to a copy of tasks.py) and as an
equivalent Makefile, and both run here, one after the other, on the same machine. Figures are
ratios to the theoretical bound max(critical path, total CPU work / cores, memory-time / quota),
so a noisy shared machine moves both columns alike. Also: the per-task overhead over 500 no-op
tasks, against make's.

    python benchmarks/scheduler.py            # a table
    python benchmarks/scheduler.py --json     # the same figures as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from hook import ROOT, adopt_into

MiB = 1024 * 1024
WORKER = r"""
import sys, time
kind, seconds, mib = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
held = bytearray(mib * 1024 * 1024)
for i in range(0, len(held), 4096):
    held[i] = 1  # touch every page, so the memory is really resident
end = time.monotonic() + seconds
if kind == "cpu":
    while time.monotonic() < end:
        pass
else:
    time.sleep(max(0.0, end - time.monotonic()))
"""


@dataclass
class Node:
    name: str
    kind: str  # "cpu" burns a core, "mem" holds memory and sleeps, "noop" does nothing
    seconds: float
    mib: int = 8
    deps: list[str] = field(default_factory=list)


@dataclass
class Graph:
    name: str
    nodes: list[Node]
    memory_quota_mib: int | None = None

    def bound(self, cores: float) -> float:
        """No schedule can beat this: the longest chain, the CPU work spread over every core,
        the memory-time spread over the quota."""
        by_name = {n.name: n for n in self.nodes}
        memo: dict[str, float] = {}

        def chain(name: str) -> float:
            if name not in memo:
                node = by_name[name]
                memo[name] = node.seconds + max((chain(d) for d in node.deps), default=0.0)
            return memo[name]

        critical = max(chain(n.name) for n in self.nodes)
        work = sum(n.seconds for n in self.nodes if n.kind == "cpu") / cores
        memory = 0.0
        if self.memory_quota_mib:
            memory = sum(n.seconds * n.mib for n in self.nodes) / self.memory_quota_mib
        return max(critical, work, memory)


def graphs(cores: int) -> list[Graph]:
    independent = [Node(f"i{k}", "cpu", 1.0) for k in range(4 * cores)]
    # A chain listed last: make starts the short tasks first and leaves the chain for the
    # end; longest-path-first starts the chain at once.
    chain = [Node("c1", "cpu", 1.0), Node("c2", "cpu", 1.0, deps=["c1"])]
    chain.append(Node("c3", "cpu", 1.0, deps=["c2"]))
    spread = [Node(f"s{k}", "cpu", 1.0) for k in range(3 * cores)]
    # Together these hold far more than the quota: only two fit at once.
    heavy = [Node(f"m{k}", "mem", 1.0, mib=400) for k in range(6)]  # 2 x 400M > 700M
    return [
        Graph("independent-cpu", independent),
        Graph("critical-path-order", [*spread, *chain]),
        Graph("memory-over-quota", heavy, memory_quota_mib=700),
    ]


def noop_graph(count: int) -> Graph:
    return Graph("noop", [Node(f"n{k}", "noop", 0.0) for k in range(count)])


def worker_command(node: Node, worker: Path) -> list[str]:
    if node.kind == "noop":
        return ["true"]
    return [sys.executable, str(worker), node.kind, str(node.seconds), str(node.mib)]


def write_makefile(graph: Graph, folder: Path, worker: Path) -> Path:
    lines = [".PHONY: all " + " ".join(n.name for n in graph.nodes), ""]
    lines.append("all: " + " ".join(n.name for n in graph.nodes))
    for node in graph.nodes:
        lines.append(f"{node.name}: {' '.join(node.deps)}".rstrip())
        lines.append("\t@" + " ".join(worker_command(node, worker)))
    path = folder / "Makefile"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_gotasks(graph: Graph, folder: Path, worker: Path) -> None:
    """A project adopting this checkout's gotasks, with the graph's tasks added to its
    tasks.py, claims honest."""
    adopt_into(folder)
    code = ["", "from gotasks.engine import task as _task", ""]
    for node in graph.nodes:
        pre = ", ".join(f"t_{d}" for d in node.deps)
        cpu = 1.0 if node.kind == "cpu" else 0.1
        command = _quote(worker_command(node, worker))
        code += [
            f'@_task(pre=[{pre}], cpu={cpu}, mem="{node.mib + 16}M", name="{node.name}")',
            f"def t_{node.name}(c):",
            f"    c.run({command!r})",
            "",
        ]
    names = ", ".join(f"t_{n.name}" for n in graph.nodes)
    code += [f'@_task(pre=[{names}], cpu=0.1, mem="1M", name="all")', "def all_(c):", "    pass"]
    code += [f"for _t in [{names}, all_]:", "    ns.add_task(_t)"]
    with (folder / "tasks.py").open("a") as handle:
        handle.write("\n".join(code) + "\n")


def _quote(words: list[str]) -> str:
    return shlex.join(words)


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """Wall time, peak RSS of the whole process tree, and the exit code."""
    start = time.monotonic()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.monotonic() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.stderr.write(stderr.decode(errors="replace")[-2000:])
    return elapsed, peak, process.returncode


def run_graph(graph: Graph, cores: int, work: Path) -> dict[str, float | int | str | None]:
    folder = work / graph.name
    folder.mkdir()
    worker = folder / "worker.py"
    worker.write_text(WORKER)
    write_makefile(graph, folder, worker)
    write_gotasks(graph, folder, worker)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # this checkout's gotasks, whatever is installed
    if graph.memory_quota_mib:
        env["GOTASKS_MEMORY"] = f"{graph.memory_quota_mib}M"
    env["GOTASKS_CPUS"] = str(cores)
    make_time, make_peak, make_rc = measure(["make", f"-j{cores}", "all"], folder, env)
    trace = folder / "trace.json"
    inv = [sys.executable, "-m", "invoke", "all", "--trace", str(trace)]
    gotasks_wall, gotasks_peak, gotasks_rc = measure(inv, folder, env)
    # The scheduler's own makespan (first task start to last task end, from its trace);
    # the wall time adds Python's and invoke's start-up, reported as overhead below.
    gotasks_time = _trace_makespan(trace) if trace.exists() else gotasks_wall
    bound = graph.bound(cores)
    quota = graph.memory_quota_mib
    return {
        "graph": graph.name,
        "tasks": len(graph.nodes),
        "bound_s": round(bound, 3),
        "gotasks_s": round(gotasks_time, 3),
        "gotasks_wall_s": round(gotasks_wall, 3),
        "make_s": round(make_time, 3),
        "gotasks_over_bound": round(gotasks_time / bound, 3) if bound else None,
        "make_over_bound": round(make_time / bound, 3) if bound else None,
        "quota_mib": quota,
        "gotasks_peak_mib": gotasks_peak // MiB,
        "make_peak_mib": make_peak // MiB,
        "gotasks_peak_over_quota": round(gotasks_peak / MiB / quota, 3) if quota else None,
        "make_peak_over_quota": round(make_peak / MiB / quota, 3) if quota else None,
        "gotasks_exit": gotasks_rc,
        "make_exit": make_rc,
    }


def _trace_makespan(trace: Path) -> float:
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e.get("ph") == "X"]
    if not events:
        return 0.0
    start = min(e["ts"] for e in events)
    end = max(e["ts"] + e["dur"] for e in events)
    return (end - start) / 1e6


def overhead(count: int, cores: int, work: Path) -> dict[str, float | int]:
    """Seconds per no-op task: (run of N no-ops - run of 1 no-op) / (N - 1), for both."""
    figures: dict[str, float] = {}
    for label, size in (("one", 1), ("many", count)):
        graph = noop_graph(size)
        graph.name = f"noop-{label}"
        result = run_graph(graph, cores, work)
        figures[f"gotasks_{label}"] = float(result["gotasks_wall_s"] or 0)
        figures[f"make_{label}"] = float(result["make_s"] or 0)
    per_gotasks = (figures["gotasks_many"] - figures["gotasks_one"]) / (count - 1)
    per_make = (figures["make_many"] - figures["make_one"]) / (count - 1)
    return {
        "tasks": count,
        "gotasks_ms_per_task": round(per_gotasks * 1000, 3),
        "make_ms_per_task": round(per_make * 1000, 3),
        "gotasks_over_make": round(per_gotasks / per_make, 2) if per_make > 0 else 0.0,
        "gotasks_startup_s": round(figures["gotasks_one"], 3),
        "make_startup_s": round(figures["make_one"], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--noops", type=int, default=500, help="no-op tasks for the overhead")
    args = parser.parse_args()
    if shutil.which("make") is None:
        print("make is not installed: it is the baseline", file=sys.stderr)
        return 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, cores or 1)
    with tempfile.TemporaryDirectory(prefix="gotasks-bench-") as tmp:
        work = Path(tmp)
        results = [run_graph(graph, cores, work) for graph in graphs(cores)]
        noop = overhead(args.noops, cores, work)
    if args.json:
        print(json.dumps({"cores": cores, "graphs": results, "overhead": noop}, indent=2))
        return 0
    print(f"{cores} cores; makespan / lower bound (1.00 is perfect), peak memory / quota")
    print("(gotasks' makespan from its trace; make's is its wall time, start-up ~0)")
    header = f"{'graph':<22} {'bound':>7} {'gotasks':>8} {'make':>8} {'peak/quota':>18}"
    print(header)
    for r in results:
        quota = (
            f"{r['gotasks_peak_over_quota']} vs {r['make_peak_over_quota']}"
            if r["quota_mib"]
            else "-"
        )
        print(
            f"{r['graph']:<22} {r['bound_s']:>6}s {r['gotasks_over_bound']:>8}"
            f" {r['make_over_bound']:>8} {quota:>18}"
        )
    print(
        f"per-task overhead over {noop['tasks']} no-ops: gotasks {noop['gotasks_ms_per_task']} ms,"
        f" make {noop['make_ms_per_task']} ms ({noop['gotasks_over_make']}x);"
        f" start-up {noop['gotasks_startup_s']} s vs {noop['make_startup_s']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
