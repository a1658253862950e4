"""`inv setup` on a clean machine against the same steps done by hand, in the same run.

For each subject (the example module, and a real program with over 20 dependencies fetched
through the Go module proxy: github.com/mikefarah/yq/v4), from a clean state (empty HOME,
GOMODCACHE, GOCACHE and SDK root, a fresh git clone):

  (a) online         `inv setup`                  vs  curl + sha256sum + tar xzf of the SDK,
                                                      then go mod download (the seed's way)
  (b) from a bundle  `inv setup --from B.tar`     vs  tar xf B.tar, sha256sum + tar xzf of the
      (GOPROXY and the SDK mirror unreachable)        SDK, GOPROXY=file://...,off go mod download
  (c) ready machine  a second `inv setup`         vs  `inv --list` (Python + invoke + gotasks
                                                      starting: the start-up (c) adds to)

then `inv ci` on the (b) machine with GOPROXY=off must be green. The SDK is this machine's
own GOROOT packed as go.dev packs it, served from 127.0.0.1 (go.dev is not reachable
here); modules come from the real module proxy (GOPROXY as set, else proxy.golang.org).
Rounds alternate which side goes first (an even number of them, so that each side goes
first as often: in a pair of steps the first was often the slower, whichever it was); the
figures are medians, of the wall time and of
the CPU time (user + system) of each side's processes, and stage by stage: each stage
`inv setup` printed beside the hand-made step that does the same work (setupfigures.py).

Nothing is removed before the end (several GB for 4 rounds of both subjects): on an ext4
without a journal, as this machine's, creating files within a minute of removing many is
several times slower (the inode allocator skips recently deleted inodes), so removing a
round's trees slowed whichever step came first in the next one.

    python3 benchmarks/setup.py                     # both subjects, 4 rounds
    python3 benchmarks/setup.py --subjects example --rounds 5
    python3 benchmarks/setup.py --json              # the figures as JSON
    python3 benchmarks/setup.py --markdown          # the README's tables
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdk import _QuietHandler, go_env, pack, release_index, sha256
from setupfigures import Figure, brief, print_markdown, print_table, stages_of, summary

ROOT = Path(__file__).resolve().parents[1]

REAL_PROGRAM = "github.com/mikefarah/yq/v4@v4.54.3"
UNREACHABLE = "http://127.0.0.1:9"


def run(argv: list[str], env: dict[str, str], cwd: Path) -> Figure:
    """What `argv` took (its output shown only when it fails, which ends the benchmark)."""
    return run_status(argv, env, cwd)[0]


def inv_setup(argv: list[str], env: dict[str, str], cwd: Path) -> Figure:
    """What an `inv setup` took, with its stages read from what it printed."""
    figure, _, out = run_status(argv, env, cwd)
    figure["stages"] = stages_of(out, figure["wall"])
    return figure


def run_status(
    argv: list[str], env: dict[str, str], cwd: Path, check: bool = True, sync: bool = True
) -> tuple[Figure, int, str]:
    """What `argv` took, its exit status and output; with `check`, a failure ends the
    benchmark, else its output's end is shown. `sync` first writes back what earlier steps
    left dirty, so that neither side pays for the other's writes."""
    if sync:
        os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        said = f"{' '.join(argv)} failed in {cwd}:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
        if check:
            raise SystemExit(said)
        print(said, file=sys.stderr)
    return {"wall": seconds, "cpu": cpu}, out.returncode, out.stdout


def by_hand(steps: list[tuple[str, list[str], dict[str, str], Path]]) -> Figure:
    """Hand-made steps one after the other, each timed: a stage each (one name may come
    back, e.g. a `go mod download` per module: summed)."""
    figure: Figure = {"wall": 0.0, "cpu": 0.0, "stages": {}}
    os.sync()
    for stage, argv, env, cwd in steps:
        step, _, _ = run_status(argv, env, cwd, sync=False)
        figure["wall"] += step["wall"]
        figure["cpu"] += step["cpu"]
        figure["stages"][stage] = figure["stages"].get(stage, 0.0) + step["wall"]
    return figure


def git(args: list[str], cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_subject(name: str, work: Path, version: str, proxy: str) -> Path:
    """A git repository of the subject with gotasks adopted and the Go version pinned."""
    repo = work / f"{name}-origin"
    if name == "example":
        shutil.copytree(ROOT / "examples" / "hello", repo)  # the module at the root
    else:
        repo.mkdir()
        cache = work / "fetch-modcache"
        env = {**os.environ, "GOMODCACHE": str(cache), "GOFLAGS": "-modcacherw", "GOPROXY": proxy}
        out = subprocess.run(
            ["go", "mod", "download", "-json", REAL_PROGRAM],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        source = Path(out.stdout.split('"Dir": "')[1].split('"')[0])
        shutil.copytree(source, repo, dirs_exist_ok=True)
        # Left where it is until the end: see the docstring on removing files.
    # gotasks put in the way a user does: `inv init` (the gotasks of this checkout).
    subprocess.run(
        [sys.executable, "-m", "invoke", "init", str(repo)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    (repo / ".go-version").write_text(f"{version}\n")
    dev = repo / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "build:\n  targets: [linux/amd64]\n")
    git(["init", "-q", "-b", "main"], repo)
    git(["add", "-A"], repo)
    git(["commit", "-q", "-m", "subject"], repo)
    return repo


def machine(base: Path, path: str) -> dict[str, str]:
    """Nothing on it: HOME, module cache, build cache and SDK root all new and empty."""
    for sub in ("home", "gopath", "gocache", "sdk"):
        (base / sub).mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        # PYTHONDONTWRITEBYTECODE too: a user's machine keeps compiled modules, and without
        # them every start compiles gotasks again (3 s of a loaded start-up).
        if not k.startswith(("GO", "GOTASKS_"))
        and k not in ("CI", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        {
            "HOME": str(base / "home"),
            "GOPATH": str(base / "gopath"),
            "GOMODCACHE": str(base / "gopath" / "pkg" / "mod"),
            "GOCACHE": str(base / "gocache"),
            "GOTASKS_SDK_ROOT": str(base / "sdk"),
            "GOFLAGS": "-modcacherw",  # so that the benchmark can delete it
            "GOENV": "off",
            "NO_COLOR": "1",
            "PATH": path,
            "PYTHONPATH": str(ROOT),
            # Its own lease folder: a fresh machine, not one whose gotasks runs queue behind
            # other sessions' runs on the machine the benchmark happens to share.
            "GOTASKS_LEASE_DIR": str(base / "leases"),
        }
    )
    return env


def modules_of(clone: Path) -> list[Path]:
    return sorted(p.parent for p in clone.rglob("go.mod") if ".gotasks" not in p.parts)


def by_hand_online(base: Path, clone: Path, env: dict[str, str], url: str, sums: Path) -> Figure:
    """The seed's way: curl, sha256sum -c, tar xzf, then go mod download in each module."""
    sdk = base / "sdk-by-hand"
    sdk.mkdir()
    go = go_on_path(env, sdk)
    return by_hand(
        [
            ("sdk download", ["curl", "-fsSLO", url], env, sdk),
            ("sdk download", ["sha256sum", "--quiet", "-c", str(sums)], env, sdk),
            ("sdk extract", ["tar", "xzf", url.rsplit("/", 1)[1]], env, sdk),
            *(("modules", ["go", "mod", "download"], go, m) for m in modules_of(clone)),
        ]
    )


def by_hand_bundle(base: Path, clone: Path, env: dict[str, str], bundle: Path, name: str) -> Figure:
    """tar xf of the bundle, sha256sum + tar xzf of its SDK, go mod download from its
    folder as GOPROXY."""
    sdk = base / "sdk-by-hand"
    sdk.mkdir()
    top = sdk / "gotasks-bundle"
    go = {**go_on_path(env, sdk), "GOPROXY": f"{(top / 'goproxy').as_uri()},off"}
    return by_hand(
        [
            ("bundle", ["tar", "xf", str(bundle)], env, sdk),
            ("bundle", ["sha256sum", f"gotasks-bundle/sdk/{name}"], env, sdk),
            ("sdk extract", ["tar", "xzf", f"gotasks-bundle/sdk/{name}"], env, sdk),
            *(("modules", ["go", "mod", "download"], go, m) for m in modules_of(clone)),
        ]
    )


def go_on_path(env: dict[str, str], sdk: Path) -> dict[str, str]:
    return {**env, "PATH": f"{sdk}/go/bin:{env['PATH']}", "GOTOOLCHAIN": "local"}


def interleaved(round_: int, steps: list[tuple[str, Callable[[], Figure]]]) -> dict[str, Figure]:
    """The steps in order in even rounds, reversed in odd ones."""
    return {key: step() for key, step in (steps if round_ % 2 == 0 else reversed(steps))}


def measure_subject(
    subject: str,
    work: Path,
    origin: Path,
    rounds: int,
    path: str,
    proxy: str,
    mirror: str,
    filename: str,
    sums: Path,
    with_ci: bool,
) -> dict[str, Any]:
    """Every round of one subject: the figures of each step's two sides, and inv ci's."""
    inv = [sys.executable, "-m", "invoke"]
    taken: list[dict[str, Figure]] = []
    ci: dict[str, Any] = {}
    for round_ in range(rounds):
        base = work / f"{subject}-{round_}"
        online = {**machine(base / "m1", path), "GOTASKS_SDK_MIRROR": mirror, "GOPROXY": proxy}
        clone = base / "clone1"
        git(["clone", "-q", str(origin), str(clone)], work)
        hand = {**machine(base / "h1", path), "GOPROXY": proxy}
        url = f"{mirror}/{filename}"
        figures = interleaved(
            round_,
            [
                ("a", partial(inv_setup, [*inv, "setup"], online, clone)),
                ("a_hand", partial(by_hand_online, base / "h1", clone, hand, url, sums)),
            ],
        )
        bundle = base / "bundle.tar"
        run([*inv, "setup", "--export", str(bundle)], online, clone)
        offline = {
            **machine(base / "m2", path),
            "GOTASKS_SDK_MIRROR": UNREACHABLE + "/dl",
            "GOPROXY": UNREACHABLE,
        }
        clone2 = base / "clone2"
        git(["clone", "-q", str(origin), str(clone2)], work)
        hand2 = {**machine(base / "h2", path), "GOPROXY": UNREACHABLE}
        from_bundle = [*inv, "setup", "--from", str(bundle)]
        figures |= interleaved(
            round_,
            [
                ("b", partial(inv_setup, from_bundle, offline, clone2)),
                ("b_hand", partial(by_hand_bundle, base / "h2", clone2, hand2, bundle, filename)),
            ],
        )
        figures |= interleaved(
            round_,
            [
                ("c", partial(inv_setup, [*inv, "setup"], offline, clone2)),
                ("startup", partial(run, [*inv, "--list"], offline, clone2)),
            ],
        )
        if round_ == 0 and with_ci:
            ci_env = {**offline, "GOPROXY": "off"}
            figure, status, _ = run_status([*inv, "ci"], ci_env, clone2, check=False)
            ci = {**figure, "status": status}
        taken.append(figures)
        print(f"{subject} round {round_ + 1}: {brief(figures)}", file=sys.stderr, flush=True)
    return {"rounds": taken, "ci": ci}


def inflater() -> str:
    """What inflates the SDK in `inv setup` (inflate.py): isal where installed, else zlib."""
    try:
        import isal
    except ImportError:
        return "zlib (isal not installed)"
    return f"isal {isal.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="even: each side first as often")
    parser.add_argument("--subjects", default="example,yq")
    parser.add_argument(
        "--sdk-archive",
        type=Path,
        help="this machine's GOROOT already packed as go.dev packs it (packing takes minutes)",
    )
    parser.add_argument("--no-ci", action="store_true", help="leave out `inv ci` after (b)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    parser.add_argument(
        "--markdown", action="store_true", help="the README's tables (Setting up a machine)"
    )
    args = parser.parse_args()
    version_text, goroot, goos, goarch, goproxy = go_env(
        "GOVERSION", "GOROOT", "GOOS", "GOARCH", "GOPROXY"
    )
    proxy = goproxy or "https://proxy.golang.org,direct"
    version = version_text.removeprefix("go").split()[0].split("-")[0]
    # No go on PATH: the machine has none until setup installs one (git, sh, curl stay).
    path = ":".join(
        p
        for p in os.environ.get("PATH", "").split(":")
        if p and not (Path(p) / "go").exists() and not Path(p, "gofmt").exists()
    )
    doc: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "inflater": inflater(),
        "load_before": round(os.getloadavg()[0], 1),
        "subjects": {},
    }
    with tempfile.TemporaryDirectory(prefix="gotasks-setup-bench-") as scratch:
        work = Path(scratch)
        served = work / "served" / "dl"
        served.mkdir(parents=True)
        filename = f"go{version}.{goos}-{goarch}.tar.gz"
        archive = served / filename
        if args.sdk_archive:
            shutil.copyfile(args.sdk_archive, archive)
        else:
            print(f"packing {goroot} into {filename} ...", file=sys.stderr)
            pack(Path(goroot), archive)
        digest = sha256(archive)
        sums = work / "SHA256SUMS"
        sums.write_text(f"{digest}  {filename}\n")
        index = release_index(archive, version, goos, goarch, digest)
        (served / "index.html").write_text(json.dumps(index))
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(work / "served"))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        mirror = f"http://127.0.0.1:{server.server_address[1]}/dl"
        for subject in args.subjects.split(","):
            origin = make_subject(subject, work, version, proxy)
            load_start = os.getloadavg()[0]
            result = measure_subject(
                subject,
                work,
                origin,
                args.rounds,
                path,
                proxy,
                mirror,
                filename,
                sums,
                not args.no_ci,
            )
            doc["subjects"][subject] = {
                **summary(result["rounds"]),
                "ci": result["ci"],
                "load": [round(load_start, 1), round(os.getloadavg()[0], 1)],
                "rounds": result["rounds"],
            }
        server.shutdown()
        print("removing what the rounds left ...", file=sys.stderr)
    doc["load_after"] = round(os.getloadavg()[0], 1)
    if args.json:
        print(json.dumps(doc, indent=2))
    elif args.markdown:
        print_markdown(doc)
    else:
        print_table(doc)


if __name__ == "__main__":
    main()
