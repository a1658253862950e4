"""What `inv` pays to start: gotasks against bare invoke (and, for the pre-commit hook,
against gofmt + go vet run directly), measured side by side in one run.

Two projects go into a temp folder: an adopter of gotasks (its thin tasks.py, invoke.yaml,
config/ and the example module, in a git repo, with a no-op task of its own) and a bare
invoke project (a tasks.py with one no-op invoke task). Each round runs every case once,
in an order that rotates from round to round, so a noisy neighbour slows all of them
alike; the figures are medians of the rounds, and each ratio is against its baseline.

    python benchmarks/startup.py               # 9 rounds, a table
    python benchmarks/startup.py --rounds 15 --json

Aims (issue 11): inv --list <= 1.3x bare invoke; a no-op user task <= 1.5x; the hook on a
one-file change <= 1.5x gofmt + go vet run directly. The hook's line is followed by its
floor: bare invoke's own start plus the same gofmt and vet, against the tools alone.
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
from pathlib import Path

from hook import environment as hook_environment

ROOT = Path(__file__).resolve().parents[1]
CHANGED = "hello/greet/greet.go"
ADDED = '\n// Farewell says goodbye.\nfunc Farewell(name string) string { return name + "!" }\n'

ADOPTER_TASKS = '''import gotasks
from gotasks.engine import task

ns = gotasks.namespace()


@task
def noop(c):
    """Does nothing (what a user's own small task costs to start)."""


ns.add_task(noop)
'''
BARE_TASKS = '''from invoke import task


@task
def noop(c):
    """Does nothing."""
'''


def environment() -> dict[str, str]:
    """hook.py's environment (no GOTASKS_* choices, a git identity), this checkout's gotasks
    first on the path, and a private lease folder: runs of gotasks on one machine share it
    through lease files, and what is measured here is start-up, not a wait for another
    run."""
    env = {k: v for k, v in hook_environment().items() if not k.startswith("INVOKE_")}
    env["PYTHONPATH"] = str(ROOT)
    # Byte-compiled once in the warm-up, as an installed gotasks is: not recompiled per run
    # (gotasks writes its own __pycache__ under inv, which turns bytecode writing off).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["GOTASKS_LEASE_DIR"] = tempfile.mkdtemp(prefix="gotasks-startup-leases-")
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} (in {cwd}): exit {result.returncode}\n{result.stdout}{result.stderr}"
        )
    return elapsed


def make_projects(work: Path, env: dict[str, str]) -> tuple[Path, Path]:
    adopter = work / "adopter"
    adopter.mkdir()
    (adopter / "tasks.py").write_text(ADOPTER_TASKS)
    shutil.copy(ROOT / "invoke.yaml", adopter / "invoke.yaml")
    shutil.copytree(ROOT / "config", adopter / "config")
    shutil.copytree(ROOT / "examples" / "hello", adopter / "hello")
    (adopter / ".gitignore").write_text(".gotasks/\ndist/\n")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "initial"],
    ):
        run(argv, adopter, env)
    changed = adopter / CHANGED
    changed.write_text(changed.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    run(["git", "add", CHANGED], adopter, env)
    bare = work / "bare"
    bare.mkdir()
    (bare / "tasks.py").write_text(BARE_TASKS)
    return adopter, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    env = environment()
    inv = [sys.executable, "-m", "invoke"]
    with tempfile.TemporaryDirectory(prefix="gotasks-startup-bench-") as scratch:
        adopter, bare = make_projects(Path(scratch), env)
        module = adopter / "hello"
        cases: dict[str, tuple[list[list[str]], Path]] = {
            "list": ([[*inv, "--list"]], adopter),
            "list_bare": ([[*inv, "--list"]], bare),
            "help_ci": ([[*inv, "-h", "ci"]], adopter),
            "help_bare": ([[*inv, "-h", "noop"]], bare),
            "noop": ([[*inv, "noop"]], adopter),
            "noop_bare": ([[*inv, "noop"]], bare),
            "hook": ([[*inv, "lint", "--staged"]], adopter),
            "hook_bare": ([["gofmt", "-l", "greet/greet.go"], ["go", "vet", "./greet"]], module),
        }
        # Warm: byte-compiled modules, the go build cache for vet (both ways: gotasks adds
        # the env's build tags).
        for commands, cwd in cases.values():
            for argv in commands:
                run(argv, cwd, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for index in range(args.rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                commands, cwd = cases[name]
                times[name].append(sum(run(argv, cwd, env) for argv in commands))
    median = {name: statistics.median(values) for name, values in times.items()}
    comparisons = [
        ("inv --list", "list", "list_bare", "bare invoke --list", 1.3),
        ("inv -h ci", "help_ci", "help_bare", "bare invoke -h noop", None),
        ("a no-op user task", "noop", "noop_bare", "bare invoke noop", 1.5),
        ("inv lint --staged", "hook", "hook_bare", "gofmt -l + go vet direct", 1.5),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    # What no task runner started by Python could beat: bare invoke's own start, then the
    # same gofmt and vet (the hook's aim is measured against the tools alone).
    floor = (median["noop_bare"] + median["hook_bare"]) / median["hook_bare"]
    figures = {
        "rounds": args.rounds,
        "load_1min": load,
        "cpus": os.cpu_count(),
        "cases": [
            {
                "case": label,
                "seconds": round(median[mine], 3),
                "baseline": base_label,
                "baseline_seconds": round(median[base], 3),
                "ratio": round(median[mine] / median[base], 2),
                "aim": aim,
                "within_aim": None if aim is None else median[mine] / median[base] <= aim,
            }
            for label, mine, base, base_label, aim in comparisons
        ],
        "hook_floor_ratio": round(floor, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"start-up, median of {args.rounds} interleaved rounds (load {load}, {os.cpu_count()} CPUs)"
    )
    for case in figures["cases"]:
        aim = case["aim"]
        verdict = (
            "" if aim is None else f"  aim <= {aim}x: {'met' if case['within_aim'] else 'MISSED'}"
        )
        print(
            f"  {case['case']:<20} {case['seconds']:6.3f} s  vs {case['baseline']:<26}"
            f" {case['baseline_seconds']:6.3f} s  {case['ratio']:5.2f}x{verdict}"
        )
    print(
        f"  (the hook's floor: bare invoke's start + gofmt + vet = {floor:.2f}x gofmt + vet,"
        " before gotasks does anything)"
    )


if __name__ == "__main__":
    main()
