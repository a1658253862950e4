"""`inv test` on a module whose one test prints 20,000 lines of 1,000 characters (about
22 MB of `go test -json`), against `go test -json` itself writing into a pipe that is read
as fast as it comes: what gotasks' handling of a command's output costs.

A copy of gotasks gets the module in a temp folder (the test cache is skipped with
-count=1, so both sides run the test each round). Each round times the baseline and
`inv test` one after the other, so a noisy neighbour slows both; the figures are medians.
CPU seconds (the command and its children) are printed too: on a loaded machine they say
more than the wall time. invoke's own handling, quadratic, took 56 s here against 0.77 s (the
issue's figure; on a machine with a load of 12 it ran into go's 10-minute test timeout).

    python benchmarks/output.py              # 5 rounds, a table
    python benchmarks/output.py --rounds 9 --lines 40000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hook import adopt_into

LOUD_TEST = """package loud

import (
\t"fmt"
\t"strings"
\t"testing"
)

func TestLoud(t *testing.T) {
\tline := strings.Repeat("x", %(width)d)
\tfor i := 0; i < %(lines)d; i++ {
\t\tfmt.Println(line)
\t}
}
"""


def environment() -> dict[str, str]:
    """The caller's environment minus anything that picks a gotasks env or root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env.update({"NO_COLOR": "1", "GOFLAGS": "", "GOENV": "off"})
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds taken, CPU seconds used (the command and its children: less swayed by a
    loaded machine than the wall time) and bytes read from stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} (in {cwd}): exit {result.returncode}\n"
            f"{result.stdout[-2000:]!r}\n{result.stderr[-2000:]!r}"
        )
    return elapsed, cpu, len(result.stdout)


def make_project(work: Path, lines: int, width: int) -> Path:
    project = work / "proj"
    project.mkdir()
    adopt_into(project)
    module = project / "loud"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/loud\n\ngo 1.22\n", encoding="utf-8")
    (module / "loud_test.go").write_text(
        LOUD_TEST % {"lines": lines, "width": width}, encoding="utf-8"
    )
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--width", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="gotasks-output-bench-") as scratch:
        project = make_project(Path(scratch), args.lines, args.width)
        module = project / "loud"
        plain = ["go", "test", "-json", "-count=1", "./..."]
        inv = [sys.executable, "-m", "invoke", "test", "--count", "1"]
        # Warm: the test binary in the build cache, both ways (gotasks adds its build tags).
        size = run(plain, module, env)[2]
        run(inv, project, env)
        plains, invs = [], []
        for _ in range(args.rounds):
            plains.append(run(plain, module, env)[:2])
            invs.append(run(inv, project, env)[:2])
    plain_s, inv_s = (statistics.median(t for t, _ in side) for side in (plains, invs))
    plain_cpu, inv_cpu = (statistics.median(c for _, c in side) for side in (plains, invs))
    load = os.getloadavg()[0]
    figures = {
        "rounds": args.rounds,
        "lines": args.lines,
        "width": args.width,
        "json_bytes": size,
        "go_test_json_seconds": round(plain_s, 3),
        "inv_test_seconds": round(inv_s, 3),
        "ratio": round(inv_s / plain_s, 2),
        "go_test_json_cpu_seconds": round(plain_cpu, 3),
        "inv_test_cpu_seconds": round(inv_cpu, 3),
        "cpu_ratio": round(inv_cpu / plain_cpu, 2),
        "load_1min": round(load, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"one test printing {args.lines} lines of {args.width} characters"
        f" ({size / 1e6:.1f} MB of go test -json), median of {args.rounds} rounds"
    )
    print(f"  go test -json -count=1 (bound)   {plain_s:7.3f} s")
    print(f"  inv test --count 1               {inv_s:7.3f} s")
    print(f"  ratio                            {inv_s / plain_s:7.2f}x")
    print(f"  CPU: go test -json               {plain_cpu:7.3f} s")
    print(f"  CPU: inv test                    {inv_cpu:7.3f} s")
    print(f"  CPU ratio                        {inv_cpu / plain_cpu:7.2f}x")
    print(f"  load average (1 min)             {load:7.2f}")


if __name__ == "__main__":
    main()
