"""`inv test --shard I/4` split by learned durations against a split by package count.

A generated Go module has 16 packages whose tests take known, uneven times (time.Sleep,
from 2.4 s down to 0.1 s; the heavy ones first by name, as a repository's old core
packages often are). A first unsharded `inv test` records each package's time in the
history; `inv shard.plan --shards 4` plans from it. The split by count is the naive one:
the packages in name order, four to a shard, written as a plan file of the same format,
so both run through the same `--shard-plan` machinery. Each round runs the 8 shards
(learned and by-count interleaved, shard by shard) with `--count 1`.

A shard's time is the sum of its packages' test times as go test -json measured them in
that run (the work a one-runner CI job does); the figure is max shard time / (total / 4),
1.0 being a perfect split (medians over the rounds). The shards' wall times (the whole
`inv test --shard` command, build and start-up included, `go test -p 2`) are shown too.
Aim: <= 1.15 for the learned plan.

    python benchmarks/shard.py              # 3 rounds, a table
    python benchmarks/shard.py --rounds 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from hook import adopt_into

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 4
AIM = 1.15
# Seconds each package's test sleeps: p00 the heaviest.
DURATIONS = [2.4, 2.0, 1.6, 1.4, 1.2, 1.0, 0.8, 0.8, 0.6, 0.5, 0.4, 0.4, 0.3, 0.2, 0.2, 0.1]
MODULE = "example.com/shardbench"


def environment() -> dict[str, str]:
    """The caller's environment minus anything that picks a gotasks env, root or shard."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env.update({"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1", "GOENV": "off"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return elapsed, result.stdout


def make_project(work: Path) -> Path:
    project = work / "proj"
    project.mkdir()
    adopt_into(project)
    module = project / "bench"
    module.mkdir()
    go_version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    major_minor = ".".join(go_version.removeprefix("go").split(".")[:2])
    (module / "go.mod").write_text(f"module {MODULE}\n\ngo {major_minor}\n")
    for i, seconds in enumerate(DURATIONS):
        package = module / f"p{i:02}"
        package.mkdir()
        (package / "p.go").write_text(
            f"package p{i:02}\n\nfunc Seconds() float64 {{ return {seconds} }}\n"
        )
        (package / "p_test.go").write_text(
            f'package p{i:02}\n\nimport (\n\t"testing"\n\t"time"\n)\n\n'
            f"func TestSleep(t *testing.T) {{ time.Sleep({round(seconds * 1000)}"
            " * time.Millisecond) }\n"
        )
    return project


def by_count_plan(units: list[str]) -> dict[str, object]:
    """The packages in name order, len/4 to a shard, as a plan file."""
    ordered = sorted(units)
    size = -(-len(ordered) // SHARDS)
    return {
        "kind": "gotasks shard plan",
        "version": 1,
        "shards": [
            {
                "shard": i + 1,
                "units": [{"name": n, "seconds": 1} for n in ordered[i * size : (i + 1) * size]],
            }
            for i in range(SHARDS)
        ],
    }


def shard_work(junit: Path) -> float:
    """The sum of the packages' test times in a shard's JUnit file (0: an empty shard)."""
    if not junit.exists():
        return 0.0
    return sum(float(s.get("time") or 0) for s in ET.parse(junit).getroot().iter("testsuite"))


def ratio(times: list[float]) -> float:
    return max(times) / (sum(times) / len(times)) if sum(times) else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = environment()
    inv = [sys.executable, "-m", "invoke"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gotasks-shard-bench-") as scratch:
        project = make_project(Path(scratch))
        run([*inv, "test", "--count", "1"], project, env)  # the first run: history
        _, plan_text = run([*inv, "shard.plan", f"--shards={SHARDS}", "--tasks=test"], project, env)
        (project / "learned.json").write_text(plan_text)
        units = [u["name"] for s in json.loads(plan_text)["shards"] for u in s["units"]]
        (project / "count.json").write_text(json.dumps(by_count_plan(units)))
        results: dict[str, dict[str, list[float]]] = {
            kind: {"work": [], "wall": []} for kind in ("learned", "count")
        }
        for _ in range(args.rounds):
            works: dict[str, list[float]] = {"learned": [], "count": []}
            walls: dict[str, list[float]] = {"learned": [], "count": []}
            for i in range(1, SHARDS + 1):
                for kind in ("learned", "count"):
                    out = project / "out" / kind
                    shutil.rmtree(out, ignore_errors=True)
                    wall, _ = run(
                        [
                            *inv,
                            "test",
                            "--count=1",
                            f"--shard={i}/{SHARDS}",
                            f"--shard-plan={kind}.json",
                            f"--junit={out}/junit.xml",
                        ],
                        project,
                        env,
                    )
                    works[kind].append(shard_work(out / f"junit.shard-{i}-of-{SHARDS}.xml"))
                    walls[kind].append(wall)
            for kind in works:
                results[kind]["work"].append(ratio(works[kind]))
                results[kind]["wall"].append(ratio(walls[kind]))
            last = {kind: works[kind] for kind in works}
    load_after = os.getloadavg()
    rows = {
        kind: (
            round(statistics.median(r["work"]), 3),
            round(statistics.median(r["wall"]), 3),
            [round(t, 2) for t in last[kind]],
        )
        for kind, r in results.items()
    }
    if args.json:
        doc = {
            kind: {"work_ratio": w, "wall_ratio": v, "shard_work_seconds_last_round": t}
            for kind, (w, v, t) in rows.items()
        }
        meta = {
            "rounds": args.rounds,
            "packages": len(DURATIONS),
            "total_seconds": round(sum(DURATIONS), 2),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "aim": AIM,
        }
        print(json.dumps({**doc, "meta": meta}, indent=1))
        return
    print(
        f"{len(DURATIONS)} packages, {sum(DURATIONS):.1f}s of tests, {SHARDS} shards,"
        f" {args.rounds} rounds (medians)"
    )
    print(f"{'split':<10} {'max/(total/4)':>14} {'wall max/mean':>14}  shard work (last round)")
    for kind, label in (("learned", "learned"), ("count", "by count")):
        work, wall, times = rows[kind]
        shards = ", ".join(f"{t:.1f}s" for t in times)
        print(f"{label:<10} {work:>14} {wall:>14}  {shards}")
    print(
        f"aim for the learned plan: <= {AIM}; load average before {load_before[0]:.2f},"
        f" after {load_after[0]:.2f}"
    )


if __name__ == "__main__":
    main()
