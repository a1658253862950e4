"""The everyday loop: `inv ci` against `make -j2 ci` doing the same work, side by side.

The Makefile (loop.mk, beside a project's own Makefile) is written by this script for each
project: the same gofmt check, go vet, `go mod tidy -diff`, `go test -p 2`, and the same
stamped `-trimpath` builds (the env's build.targets, its build tags, the -X version stamps
read from git with $(shell ...), as a real Makefile would) into a dist folder of its own
beside the project (not in it: gotasks would hash make's binaries as the module's files),
plus SHA256SUMS; `make -j2` runs it in the same folder gotasks runs in.

Projects, each adopted as every benchmark adopts one (hook.adopt_into) in a fresh git repo:
(a) examples/hello; (b) github.com/mikefarah/yq/v4 at v4.54.3, fetched through the Go
module proxy into a temp folder (skipped, with a line saying so, when the proxy cannot be
reached), built for the host target only (its cross build takes many minutes on a loaded
2-core machine) and without TestJSONScenarios, which fails under Go 1.26 (an encoding/json
error text changed), in both tools alike; (c) a go.work of four modules made from the
example (m1 imports m2), m3 edited. Cases: nothing changed; a one-line edit in one package
(a new line each run, before each tool's run alike); for (c) a one-line edit in m3. The
work tree is dirty from the start (an untracked file), as in a developer's loop: a clean
tree turning dirty changes every build's version stamps. Both tools warm the Go caches
first; then rounds alternate (gotasks, make, gotasks, make...) so a noisy neighbour slows
both. Figures are medians; the ratio is gotasks over make. For each case it also names the
per-module tasks gotasks ran (a task found up to date leaves a zero-length slice in its
trace); in (c) anything but m3's three tasks running is a failure (exit 1).

    python benchmarks/loop.py                 # 5 rounds, hello, multi-module and yq
    python benchmarks/loop.py --rounds 7 --skip-yq --json
    python benchmarks/loop.py --projects yq   # only the fetched yq
    python benchmarks/loop.py --projects yq --cases "nothing changed"
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hook import adopt_into

ROOT = Path(__file__).resolve().parents[1]
YQ = "github.com/mikefarah/yq/v4"
YQ_VERSION = "v4.54.3"
# yq's settings in both tools: the host target only; a test that fails under Go 1.26 left out.
YQ_SETTINGS = """
build:
  targets: [{host}]
test:
  args: ["-skip", "^TestJSONScenarios$"]
"""
# The issue's aims: gotasks' time over make's, per project and case.
CASES = ("nothing changed", "one-line edit", "multi-module edit")
AIMS = {
    ("hello", "nothing changed"): 1.0,
    ("yq", "nothing changed"): 0.3,
    ("hello", "one-line edit"): 1.5,
    ("yq", "one-line edit"): 1.0,
}


@dataclass
class Result:
    project: str
    case: str
    rounds: int
    gotasks_s: float
    make_s: float
    ratio: float
    aim: float | None
    tasks_ran: float  # per-module tasks gotasks ran (median), of tasks_total
    tasks_total: int
    ran: list[str] = field(default_factory=list)  # which ran, in any round
    expected: list[str] | None = None  # which alone should run (None: not checked)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOTASKS_")}
    env.update({"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1", "GOTOOLCHAIN": "local"})
    env.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    # Byte-compiled once in the warm-up, as an installed gotasks is (startup.py does the
    # same): with PYTHONDONTWRITEBYTECODE every `inv` would compile ~100 modules afresh.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # gotasks runs share the machine with every other gotasks run on it (leases) and wait
    # for them; make shares nothing. The benchmark's runs share only among themselves.
    env["GOTASKS_LEASE_DIR"] = tempfile.mkdtemp(prefix="gotasks-loop-leases-")
    atexit.register(shutil.rmtree, env["GOTASKS_LEASE_DIR"], True)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"{shlex.join(argv)} (in {cwd}): exit {out.returncode}\n{out.stdout}{out.stderr}")
    return elapsed, out.stdout


def adopt(project: Path, env: dict[str, str], settings: str = "") -> None:
    """gotasks put in (hook.adopt_into; `settings` added to config/dev.yaml), the whole
    folder committed in a fresh repo, then one untracked file: a dirty tree."""
    adopt_into(project)
    if settings:
        with (project / "config" / "dev.yaml").open("a", encoding="utf-8") as dev:
            dev.write(settings)
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        run(argv, project, env)
    run(["git", "commit", "-q", "-m", "initial"], project, env)
    (project / "LOCAL-NOTES.txt").write_text("not committed: the tree is dirty\n")


# --- projects -------------------------------------------------------------------------------


def hello(work: Path, env: dict[str, str]) -> Path:
    project = work / "hello"
    shutil.copytree(ROOT / "examples" / "hello", project)
    adopt(project, env)
    return project


def multi(work: Path, env: dict[str, str]) -> Path:
    """A go.work of four modules made from the example (example.com/m1 ... m4); m1's code
    imports m2's (required, and replaced by ../m2 as `go mod tidy` wants)."""
    project = work / "multi-project"
    project.mkdir()
    for n in range(1, 5):
        folder = project / f"m{n}"
        shutil.copytree(ROOT / "examples" / "hello", folder)
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".go", ".mod"):
                text = path.read_text(encoding="utf-8")
                path.write_text(text.replace("example.com/hello", f"example.com/m{n}"))
    (project / "m1" / "greet" / "sibling.go").write_text(
        'package greet\n\nimport other "example.com/m2/greet"\n\n'
        "// Sibling greets through m2.\n"
        'func Sibling() string { return other.Hello("m1") }\n'
    )
    with (project / "m1" / "go.mod").open("a") as gomod:
        gomod.write("\nrequire example.com/m2 v0.0.0\n\nreplace example.com/m2 => ../m2\n")
    run(["go", "work", "init", "./m1", "./m2", "./m3", "./m4"], project, env)
    adopt(project, env)
    return project


def yq(work: Path, env: dict[str, str]) -> Path | None:
    """yq's source from the module proxy (go mod download), copied out writable."""
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{YQ}@{YQ_VERSION}"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        folder = Path(json.loads(download.stdout)["Dir"])
    except (ValueError, KeyError, TypeError):
        said = download.stderr.strip().splitlines() or download.stdout.strip().splitlines()
        print(f"skipped yq: cannot fetch {YQ}@{YQ_VERSION} ({said[-1] if said else 'offline'})")
        return None
    project = work / "yq"
    shutil.copytree(folder, project)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    host = run(["go", "env", "GOOS"], work, env)[1].strip() + "/"
    host += run(["go", "env", "GOARCH"], work, env)[1].strip()
    adopt(project, env, YQ_SETTINGS.format(host=host))
    return project


# --- the Makefile ---------------------------------------------------------------------------


def go_settings(project: Path, env: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """The dev env's GOFLAGS (with its build tags), build.targets and test.args, as gotasks
    has them."""
    _, exported = run([sys.executable, "-m", "invoke", "env"], project, env)
    goflags = ""
    for line in exported.splitlines():
        if line.startswith("export GOFLAGS="):
            goflags = shlex.split(line.removeprefix("export GOFLAGS="))[0]
    sys.path.insert(0, str(ROOT))
    from gotasks.settings import load_settings

    settings = load_settings(project, "dev", {})
    test = settings.section("test")
    return goflags, list(settings.section("build")["targets"]), list(test["args"])


def modules(project: Path) -> list[Path]:
    return sorted(p.parent for p in project.rglob("go.mod") if ".gotasks" not in p.parts)


def main_packages(module: Path, goflags: str, env: dict[str, str]) -> list[str]:
    template = '{{if eq .Name "main"}}{{.Dir}}{{end}}'
    _, out = run(["go", "list", "-f", template, "./..."], module, {**env, "GOFLAGS": goflags})
    return [os.path.relpath(d, module) for d in out.split()]


def make_quoted(words: list[str]) -> str:
    """Words for a recipe line: shell-quoted, and $ doubled for make."""
    return shlex.join(words).replace("$", "$$")


def write_makefile(project: Path, env: dict[str, str]) -> None:
    goflags, targets, test_args = go_settings(project, env)
    x = (
        "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)"
        " -X main.commitDate=$(DATE) -X main.dirty=$(DIRTY) -X main.goVersion=$(GOVERSION)"
    )
    lines = [
        "# Written by benchmarks/loop.py: the work of `inv ci`, for make -j2.",
        f"export GOFLAGS := {goflags}",
        "export GOTOOLCHAIN := local",
        "VERSION := $(shell git describe --tags --always --dirty --abbrev=12)",
        "COMMIT := $(shell git rev-parse HEAD)",
        "DATE := $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)",
        'DIRTY := $(shell test -z "$$(git status --porcelain)" && echo false || echo true)',
        "GOVERSION := $(shell go env GOVERSION)",
        "",
    ]
    # make's binaries go beside the project, not into it: gotasks hashes every file of a
    # module, and rewriting make's own (large) binaries in it each round would have it
    # hash them again, work no project of its own gives it.
    outdir = f"../{project.name}.dist-make"
    all_targets: list[str] = []
    for module in modules(project):
        rel = os.path.relpath(module, project)
        name = module.name if rel != "." else project.name
        mains = main_packages(module, goflags, env)
        lint, test, build = f"lint-{name}", f"test-{name}", f"build-{name}"
        all_targets += [lint, test, build]
        builds = []
        for target in targets:
            goos, goarch = target.split("/")
            for main in mains:
                binary = (Path(main).name if main != "." else name) + (
                    ".exe" if goos == "windows" else ""
                )
                out = f"{outdir}/{name}_{goos}_{goarch}/{binary}"
                builds.append(out)
                lines += [
                    f".PHONY: {out}",
                    f"{out}:",
                    f"\tcd {rel} && CGO_ENABLED=0 GOOS={goos} GOARCH={goarch} go build"
                    f" -trimpath -ldflags '{x}' -o $(CURDIR)/{out} ./{main}",
                ]
        lines += [
            f".PHONY: {lint} {test} {build}",
            f"{lint}:",
            f"\tcd {rel} && test -z \"$$(gofmt -l $$(find . -name '*.go' -not -path"
            " './vendor/*' -not -path '*/testdata/*'))\"",
            f"\tcd {rel} && go vet ./...",
            f"\tcd {rel} && go mod tidy -diff",
            f"{test}:",
            f"\tcd {rel} && go test -timeout 10m -p 2 {make_quoted(test_args)} ./...",
            f"{build}: {' '.join(builds)}",
            f"\tcd {outdir} && sha256sum {' '.join(b.removeprefix(outdir + '/') for b in builds)}"
            " > SHA256SUMS",
        ]
    lines[9:9] = [f".PHONY: ci\nci: {' '.join(all_targets)}", ""]
    (project / "loop.mk").write_text("\n".join(lines) + "\n")
    # The Makefile is the baseline's own file, not a change gotasks should see.
    with (project / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/loop.mk\n")


# --- measuring ------------------------------------------------------------------------------


def gotasks_run(project: Path, env: dict[str, str]) -> tuple[float, set[str]]:
    """Seconds of `inv ci`, and the per-module tasks it really ran (trace slices longer
    than zero)."""
    trace = project / ".gotasks" / "loop-trace.json"
    seconds, _ = run([sys.executable, "-m", "invoke", "ci", "--trace", str(trace)], project, env)
    events = json.loads(trace.read_text())["traceEvents"]
    ran = {
        e["name"]
        for e in events
        if e.get("ph") == "X"
        and e["name"].split("[")[0] in ("lint", "test", "build")
        and e["dur"] > 0
    }
    return seconds, ran


def make_run(project: Path, env: dict[str, str]) -> float:
    seconds, _ = run(["make", "-j2", "--no-print-directory", "-f", "loop.mk", "ci"], project, env)
    return seconds


def measure(
    project_name: str,
    case: str,
    project: Path,
    env: dict[str, str],
    rounds: int,
    edit: Callable[[], None] | None,
    expected: list[str] | None = None,
) -> Result:
    gotasks_s, make_s, ran = [], [], []
    names: set[str] = set()
    total = 3 * len(modules(project))
    for _ in range(rounds):
        if edit:
            edit()
        seconds, these = gotasks_run(project, env)
        gotasks_s.append(seconds)
        ran.append(len(these))
        names |= these
        if edit:
            edit()
        make_s.append(make_run(project, env))
    g, m = statistics.median(gotasks_s), statistics.median(make_s)
    return Result(
        project=project_name,
        case=case,
        rounds=rounds,
        gotasks_s=round(g, 3),
        make_s=round(m, 3),
        ratio=round(g / m, 2),
        aim=AIMS.get((project_name, case)) if project_name != "4 modules" else None,
        tasks_ran=statistics.median(ran),
        tasks_total=total,
        ran=sorted(names),
        expected=expected,
    )


def line_editor(path: Path) -> Callable[[], None]:
    """Each call makes a new one-line change: a package-level `var _ = N`."""
    original = path.read_text(encoding="utf-8")
    count = [0]

    def edit() -> None:
        count[0] += 1
        path.write_text(original + f"\nvar _ = {count[0]}\n", encoding="utf-8")

    return edit


def bench_project(
    name: str,
    project: Path,
    edited: Path,
    env: dict[str, str],
    rounds: int,
    cases: list[str],
    expected: list[str] | None = None,
) -> list[Result]:
    write_makefile(project, env)
    # Warm every cache both ways (modules, build, test), twice: gotasks' history too.
    for _ in range(2):
        gotasks_run(project, env)
        make_run(project, env)
    results = []
    if "nothing changed" in cases:
        results.append(measure(name, "nothing changed", project, env, rounds, None))
    edit = line_editor(edited)
    if "one-line edit" in cases:
        results.append(measure(name, "one-line edit", project, env, rounds, edit))
    if "multi-module edit" in cases:
        results.append(measure(name, "multi-module edit", project, env, rounds, edit, expected))
    return results


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-yq", action="store_true", help="leave out the fetched yq")
    parser.add_argument(
        "--projects",
        default="hello,multi,yq",
        help="which of hello, multi (4 modules) and yq to measure (comma-separated)",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"which of {', '.join(CASES)} to measure (comma-separated; the 4 modules"
        " have only the multi-module edit)",
    )
    args = parser.parse_args()
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    if unknown := [case for case in cases if case not in CASES]:
        sys.exit(f"--cases: unknown {', '.join(unknown)}; the cases: {', '.join(CASES)}")
    if args.rounds < 5:
        sys.exit("--rounds: at least 5 (the figures are medians)")
    if shutil.which("make") is None or shutil.which("go") is None:
        sys.exit("needs make and go on PATH")
    env = environment()
    before = load()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gotasks-loop-bench-") as scratch:
        work = Path(scratch)
        wanted = set(args.projects.split(","))
        one_module = [c for c in cases if c != "multi-module edit"]
        if "hello" in wanted and one_module:
            project = hello(work, env)
            edited = project / "greet" / "greet.go"
            results += bench_project("hello", project, edited, env, args.rounds, one_module)
        if "multi" in wanted and "multi-module edit" in cases:
            project = multi(work, env)
            edited = project / "m3" / "greet" / "greet.go"
            m3 = ["build[m3]", "lint[m3]", "test[m3]"]
            results += bench_project(
                "4 modules", project, edited, env, args.rounds, ["multi-module edit"], m3
            )
        if "yq" in wanted and not args.skip_yq and one_module:
            fetched = yq(work, env)
            if fetched is not None:
                results += bench_project(
                    "yq",
                    fetched,
                    fetched / "pkg" / "yqlib" / "lib.go",
                    env,
                    args.rounds,
                    one_module,
                )
    after = load()
    wrong = [r for r in results if r.expected is not None and r.ran != r.expected]
    if args.json:
        doc = {"results": [asdict(r) for r in results], "load_before": before, "load_after": after}
        print(json.dumps(doc, indent=2))
        sys.exit(1 if wrong else 0)
    print(f"inv ci against make -j2 ci, medians of {args.rounds} interleaved rounds")
    print(f"{'project':<10} {'case':<18} {'inv ci':>8} {'make':>8} {'ratio':>6} {'aim':>6}  ran")
    for r in results:
        aim = f"{r.aim:.1f}" if r.aim is not None else "-"
        verdict = "" if r.aim is None else (" met" if r.ratio <= r.aim else " missed")
        print(
            f"{r.project:<10} {r.case:<18} {r.gotasks_s:7.2f}s {r.make_s:7.2f}s"
            f" {r.ratio:5.2f}x {aim:>6}  {r.tasks_ran:g}/{r.tasks_total}{verdict}"
        )
        if r.expected is not None:
            print(f"{'':<10} ran: {', '.join(r.ran) or 'none'}")
    print(f"{before} before, {after} after")
    for r in wrong:
        print(f"{r.project} {r.case}: ran {', '.join(r.ran)}; only {', '.join(r.expected or [])}")
    if wrong:
        sys.exit(1)


if __name__ == "__main__":
    main()
