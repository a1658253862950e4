"""gotasks' scheduler at monorepo scale against `make -j2`, on generated graphs of no-ops.

For each size (100, 1,000, 10,000 by default) and shape (flat: every task under one
parent; layered: 10 levels, each task waiting for 1 to 3 random tasks of the level above),
one project holds the graph twice: as Python no-op tasks declared `@task(cpu=0.01,
mem="1M")` in its tasks.py, and as `@true` targets in a Makefile. Both run in this
process's loop, interleaved, medians of --repeat runs:

- per-task cost: (wall time of N tasks - wall time of 1 task) / (N - 1), for both, so
  Python's and invoke's start-up (and make's) is left out;
- growth: gotasks' per-task cost at the largest size / at the smallest (1.0 is flat);
- planning: graph expansion, priorities and history look-ups of the whole graph, timed in
  a process of its own (expand + Plan.make, history of a previous run loaded);
- peak RSS of the scheduler's process (`inv`'s own maxrss);
- CPU per task: the same difference of the `inv` process's own CPU time (user + system):
  on a shared, loaded machine the wall time of 100 tasks drowns in the load, the CPU time
  they cost much less, so the growth is printed both ways.

`--json` prints the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LEVELS = 10

TASKS_PY = """\
import json
from pathlib import Path

import gotasks
from gotasks.engine import task

ns = gotasks.namespace()


def _noop(c):
    pass


# The graph: name -> the names it waits for (benchmarks/scale.py wrote it).
_graph = json.loads(Path(__file__).with_name("graph.json").read_text())
_made = {}
for _name, _deps in _graph.items():
    _made[_name] = task(*[_made[d] for d in _deps], cpu=0.01, mem="1M", name=_name)(_noop)
    ns.add_task(_made[_name])
ns.add_task(task(*_made.values(), cpu=0.01, mem="1M", name="all")(_noop))
"""

# Runs invoke's own program in this process and records its peak RSS and CPU seconds on
# the way out.
INV = """\
import atexit, resource, sys
from invoke.main import program
PEAK_FILE = sys.argv[1]
def _peak():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(PEAK_FILE, "w") as f:
        f.write(f"{usage.ru_maxrss * 1024} {usage.ru_utime + usage.ru_stime}")
atexit.register(_peak)
sys.argv = ["inv", *sys.argv[2:]]
program.run()
"""

# Planning alone, in a process of its own: load the collection, expand, make the plan.
# The history holds a full window (WINDOW samples) of every task, as in a project's tenth
# run; the loaded tasks are frozen out of the cycle collector, as `inv` does
# (engine/cli.py). Prints wall and CPU seconds.
PLAN = """\
import gc, os, sys, time
from pathlib import Path
from invoke.collection import Collection
from invoke.config import Config
from invoke.loader import FilesystemLoader
from invoke.tasks import Call
from gotasks.engine.graph import expand
from gotasks.engine.history import WINDOW, History, Sample
from gotasks.engine.plan import Plan
from gotasks.engine.run import RunOptions, prepare, run_state
collection = Collection.from_module(FilesystemLoader(start=".").load()[0])
gc.freeze()
config = Config(lazy=True)
config.set_project_location(".")
config.load_project()
config.load_collection(collection.configuration())
prepare(config, RunOptions(), None)
path = run_state(config).state_dir / "history.json"
history = History.load(path)
for name in history.names():
    for i in range(WINDOW - len(history.samples(name))):
        history.add(name, Sample(0.001 * (i + 1), 30 << 20, 0.0005 * (i + 1)))
history.save(path)
del history
start, cpu = time.perf_counter(), time.process_time()
nodes = expand([Call(collection["all"])], lambda dim: [], {})
plan = Plan.make(nodes, RunOptions(), config, os.environ)
print(time.perf_counter() - start, time.process_time() - cpu, len(plan.tasks))
"""


def graph(count: int, shape: str, seed: int = 1) -> dict[str, list[str]]:
    """name -> deps, in an order where every dep comes first."""
    if shape == "flat":
        return {f"t{i}": [] for i in range(count)}
    rng = random.Random(seed)
    per_level = max(1, count // LEVELS)
    levels: list[list[str]] = []
    made: dict[str, list[str]] = {}
    for i in range(count):
        level = min(i // per_level, LEVELS - 1)
        if level == len(levels):
            levels.append([])
        above = levels[level - 1] if level else []
        deps = rng.sample(above, min(len(above), rng.randint(1, 3))) if above else []
        name = f"t{i}"
        made[name] = sorted(deps, key=lambda d: int(d[1:]))
        levels[level].append(name)
    return made


def write_project(folder: Path, nodes: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "invoke.yaml", folder / "invoke.yaml")
    shutil.copytree(ROOT / "config", folder / "config")
    (folder / "graph.json").write_text(json.dumps(nodes))
    (folder / "tasks.py").write_text(TASKS_PY)
    lines = [".PHONY: all " + " ".join(nodes), "", "all: " + " ".join(nodes)]
    for name, deps in nodes.items():
        lines += [f"{name}: {' '.join(deps)}".rstrip(), "\t@true"]
    (folder / "Makefile").write_text("\n".join(lines) + "\n")


def environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    # A lease folder of its own: other gotasks runs on the machine must not share (and so
    # slow) what is measured here.
    env["GOTASKS_LEASE_DIR"] = str(work / "leases")
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_gotasks(folder: Path, env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS bytes and CPU seconds of one `inv all`."""
    peak_file = folder / "peak"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", INV, str(peak_file), "all"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"gotasks failed in {folder}: {done.stderr.decode()[-2000:]}")
    peak, cpu = peak_file.read_text().split()
    return elapsed, int(peak), float(cpu)


def run_make(folder: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(["make", "-j2", "all"], cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def planning(folder: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of planning the graph."""
    out = subprocess.run(
        [sys.executable, "-c", PLAN], cwd=folder, env=env, check=True, capture_output=True
    )
    wall, cpu = out.stdout.split()[:2]
    return float(wall), float(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="graph sizes, comma-separated")
    parser.add_argument("--shapes", default="flat,layered")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, medians taken")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if shutil.which("make") is None:
        print("make is not installed: it is the baseline", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    shapes = args.shapes.split(",")
    with tempfile.TemporaryDirectory(prefix="gotasks-scale-") as work:
        env = environment(Path(work))
        base = Path(work) / "one"
        write_project(base, graph(1, "flat"))
        folders = {}
        for shape in shapes:
            for size in sizes:
                folders[shape, size] = Path(work) / f"{shape}-{size}"
                write_project(folders[shape, size], graph(size, shape))
        # A first run each: history exists from then on, as in a project's second run.
        for folder in [base, *folders.values()]:
            run_gotasks(folder, env)
        walls: dict[object, list[float]] = {}
        peaks: dict[object, list[int]] = {}
        cpus: dict[object, list[float]] = {}
        for _ in range(args.repeat):
            for key, folder in [("one", base), *folders.items()]:
                wall, peak, cpu = run_gotasks(folder, env)
                walls.setdefault(("gotasks", key), []).append(wall)
                peaks.setdefault(key, []).append(peak)
                cpus.setdefault(key, []).append(cpu)
                walls.setdefault(("make", key), []).append(run_make(folder, env))
        plans = {}
        for key, folder in folders.items():
            measured = [planning(folder, env) for _ in range(args.repeat)]
            plans[key] = tuple(statistics.median(m[i] for m in measured) for i in (0, 1))
        load_after = os.getloadavg()
    med = {key: statistics.median(values) for key, values in walls.items()}
    cpu_med = {key: statistics.median(values) for key, values in cpus.items()}
    rows = []
    for shape, size in folders:
        per_g = (med["gotasks", (shape, size)] - med["gotasks", "one"]) / (size - 1)
        cpu_g = (cpu_med[shape, size] - cpu_med["one"]) / (size - 1)
        per_m = (med["make", (shape, size)] - med["make", "one"]) / (size - 1)
        rows.append(
            {
                "shape": shape,
                "tasks": size,
                "gotasks_ms_per_task": round(per_g * 1000, 3),
                "make_ms_per_task": round(per_m * 1000, 3),
                "gotasks_over_make": round(per_g / per_m, 2) if per_m > 0 else None,
                "gotasks_cpu_ms_per_task": round(cpu_g * 1000, 3),
                "planning_s": round(plans[shape, size][0], 3),
                "planning_cpu_s": round(plans[shape, size][1], 3),
                "peak_rss_mib": round(max(peaks[shape, size]) / 1024**2, 1),
                "gotasks_wall_s": round(med["gotasks", (shape, size)], 3),
                "make_wall_s": round(med["make", (shape, size)], 3),
            }
        )
    growth = _growth(rows, shapes, sizes, "gotasks_ms_per_task")
    cpu_growth = _growth(rows, shapes, sizes, "gotasks_cpu_ms_per_task")
    startup = {
        "gotasks_one_task_s": round(med["gotasks", "one"], 3),
        "make_one_target_s": round(med["make", "one"], 3),
    }
    # A shared machine's load decides the wall times: printed beside them.
    load = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in load_after],
    }
    if args.json:
        doc = {
            "rows": rows,
            "growth": growth,
            "cpu_growth": cpu_growth,
            "startup": startup,
            "load": load,
        }
        print(json.dumps(doc, indent=1))
        return 0
    print(f"median of {args.repeat}; per task = (wall of N - wall of 1) / (N - 1)")
    print(f"load average (1, 5, 15 min): {load['before']} before, {load['after']} after")
    print(
        f"{'graph':<16} {'gotasks ms':>10} {'make ms':>8} {'ratio':>6}"
        f" {'CPU ms':>7} {'planning':>9} {'(CPU)':>7} {'peak RSS':>9}"
    )
    for r in rows:
        print(
            f"{r['shape'] + ' ' + str(r['tasks']):<16} {r['gotasks_ms_per_task']:>10}"
            f" {r['make_ms_per_task']:>8} {r['gotasks_over_make']!s:>6}"
            f" {r['gotasks_cpu_ms_per_task']:>7}"
            f" {r['planning_s']:>8}s {r['planning_cpu_s']:>6}s {r['peak_rss_mib']:>7}M"
        )
    for what, figures in (("wall", growth), ("CPU", cpu_growth)):
        print(
            f"growth of the {what} per task (at the largest / at the smallest): "
            + ", ".join(
                f"{shape} {g}x"
                if g is not None
                else f"{shape} n/a (the small graph's figure is noise)"
                for shape, g in figures.items()
            )
        )
    print(
        f"start-up (one task): gotasks {startup['gotasks_one_task_s']} s,"
        f" make {startup['make_one_target_s']} s"
    )
    return 0


def _growth(
    rows: list[dict[str, Any]], shapes: list[str], sizes: list[int], column: str
) -> dict[str, float | None]:
    """Per shape: the per-task figure at the largest size / at the smallest."""
    growth: dict[str, float | None] = {}
    for shape in shapes:
        per_task = {r["tasks"]: r[column] for r in rows if r["shape"] == shape}
        smallest = per_task[min(sizes)]
        # On a loaded machine the small graph's figure can drown in start-up noise (the run
        # of 1 task took longer than the run of 100): no ratio can be made of it then.
        growth[shape] = round(per_task[max(sizes)] / smallest, 2) if smallest > 0 else None
    return growth


if __name__ == "__main__":
    sys.exit(main())
