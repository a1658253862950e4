"""`inv lint --staged` (the pre-commit hook) on a one-file change to the example project,
against the bound the tools give: `gofmt -l FILE` plus `go vet ./PKG` run directly.

A copy of gotasks and examples/hello goes into a fresh git repo in a temp folder; one file
of hello/greet is changed and staged. The go build cache is warmed first (as on a
developer's machine, where the code was built before it was committed); each round times
the baseline and the hook one after the other, so a noisy neighbour slows both. The figures
are medians; the goal is a hook well under 2 s.

    python benchmarks/hook.py              # 7 rounds, a table
    python benchmarks/hook.py --rounds 15 --json
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

ROOT = Path(__file__).resolve().parents[1]
GOAL = 2.0  # seconds
CHANGED = "hello/greet/greet.go"
ADDED = '\n// Farewell says goodbye.\nfunc Farewell(name string) string { return name + "!" }\n'


def environment() -> dict[str, str]:
    """The caller's environment minus anything that picks a gotasks env or root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env.update({"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1"})
    env.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode not in ok:
        sys.exit(
            f"{' '.join(argv)} (in {cwd}): exit {result.returncode}\n{result.stdout}{result.stderr}"
        )
    return elapsed


def adopt_into(project: Path) -> None:
    """gotasks put into `project` as the tests do it: tasks.py and invoke.yaml as `inv init`
    writes them, this repository's config/ (the example's settings), its .gitignore lines
    (after the project's own, if it has some). Every benchmark adopts its projects so."""
    # Run as a script, this folder is on sys.path, not the checkout.
    sys.path.insert(0, str(ROOT))
    from gotasks import adoptplan

    for rel in ("tasks.py", "invoke.yaml"):
        (project / rel).write_bytes(adoptplan.template_text(rel))
    shutil.copytree(ROOT / "config", project / "config")
    ignore = project / ".gitignore"
    own = ignore.read_text(encoding="utf-8").rstrip("\n") + "\n" if ignore.exists() else ""
    ignore.write_text(own + "".join(f"{line}\n" for line in adoptplan.GITIGNORE_LINES))


def make_project(work: Path, env: dict[str, str]) -> Path:
    """An adopted project (adopt_into) with examples/hello, in a fresh git repo."""
    project = work / "proj"
    project.mkdir()
    adopt_into(project)
    shutil.copytree(ROOT / "examples" / "hello", project / "hello")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "initial"],
    ):
        run(argv, project, env)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="gotasks-hook-bench-") as scratch:
        project = make_project(Path(scratch), env)
        changed = project / CHANGED
        changed.write_text(changed.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
        run(["git", "add", CHANGED], project, env)
        hook = [sys.executable, "-m", "invoke", "lint", "--staged"]
        module = project / "hello"
        gofmt = ["gofmt", "-l", "greet/greet.go"]
        vet = ["go", "vet", "./greet"]
        # Warm: the build cache for vet, both ways (gotasks adds the env's build tags).
        run(vet, module, env)
        run(hook, project, env)
        hooks, baselines = [], []
        for _ in range(args.rounds):
            baselines.append(run(gofmt, module, env) + run(vet, module, env))
            hooks.append(run(hook, project, env))
        # Nothing of Go staged: what a commit of docs pays.
        run(["git", "reset", "-q"], project, env)
        idle = statistics.median(run(hook, project, env) for _ in range(args.rounds))
    hook_s, base_s = statistics.median(hooks), statistics.median(baselines)
    figures = {
        "rounds": args.rounds,
        "hook_seconds": round(hook_s, 3),
        "baseline_seconds": round(base_s, 3),
        "ratio": round(hook_s / base_s, 2),
        "overhead_seconds": round(hook_s - base_s, 3),
        "nothing_staged_seconds": round(idle, 3),
        "goal_seconds": GOAL,
        "within_goal": hook_s < GOAL,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"one staged file ({CHANGED}), median of {args.rounds} rounds, warm build cache")
    print(f"  gofmt -l + go vet ./greet (bound)   {base_s:6.3f} s")
    print(f"  inv lint --staged (the hook)        {hook_s:6.3f} s")
    print(
        f"  ratio                               {hook_s / base_s:6.2f}x"
        f"  (+{hook_s - base_s:.3f} s: python, invoke, gotasks, git)"
    )
    print(
        f"  goal                                {GOAL:6.3f} s"
        f"  -> {'met' if hook_s < GOAL else 'MISSED'} ({hook_s / GOAL:.0%} of it)"
    )
    print(f"  nothing of Go staged                {idle:6.3f} s")


if __name__ == "__main__":
    main()
