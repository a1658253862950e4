"""`inv ci` with nothing changed on the example project: with up-to-date skipping (every
task up to date) against every task run (`--force`: what `inv ci` did before skipping, plus
the key it still computes), and optionally against the gotasks of a git REF (`--before`).

A copy of gotasks' config and examples/hello goes into a fresh git repo in a temp folder;
one `inv ci` warms the Go caches and records the state. Each round runs every variant once,
in turn, so a noisy neighbour slows all of them; the figures are medians, with the load.

    python benchmarks/fresh.py                    # 5 rounds, a table
    python benchmarks/fresh.py --before c9e380a   # also the gotasks of that commit
    python benchmarks/fresh.py --rounds 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from hook import ROOT, environment, make_project, run


def variants(work: Path, before: str | None, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """name -> the environment `inv ci` runs with."""
    here = {**env, "PYTHONPATH": str(ROOT)}
    found = {
        "up to date": {**here, "GOTASKS_FORCE": ""},
        "--force": {**here, "GOTASKS_FORCE": "1"},
    }
    if before:
        tree = work / "before"
        run(["git", "worktree", "add", "-q", "--detach", str(tree), before], ROOT, env)
        found[before] = {**env, "PYTHONPATH": str(tree)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="also time the gotasks of this git REF")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = environment()
    ci = [sys.executable, "-m", "invoke", "ci"]
    with tempfile.TemporaryDirectory(prefix="gotasks-fresh-bench-") as scratch:
        work = Path(scratch)
        project = make_project(work, env)
        try:
            runs = variants(work, args.before, env)
            for variant_env in runs.values():  # warm: Go's caches, gotasks' state
                run(ci, project, variant_env)
            run(ci, project, runs["up to date"])
            times: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.rounds):
                for name, variant_env in runs.items():
                    times[name].append(run(ci, project, variant_env))
        finally:
            if args.before:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(work / "before")],
                    cwd=ROOT,
                    capture_output=True,
                    check=False,
                )
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["--force"]
    figures = {
        "rounds": args.rounds,
        "load": [round(x, 2) for x in os.getloadavg()],
        "seconds": {name: round(value, 3) for name, value in medians.items()},
        "ratio_to_force": {name: round(value / base, 2) for name, value in medians.items()},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"inv ci, nothing changed, examples/hello: median of {args.rounds} rounds")
    for name, value in medians.items():
        print(f"  {name:<14} {value:6.3f} s  {value / base:5.2f}x")
    print(f"  load average   {' '.join(str(x) for x in figures['load'])}")


if __name__ == "__main__":
    main()
