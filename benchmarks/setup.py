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
Rounds alternate which side goes first; the figures are medians.

    python3 benchmarks/setup.py                     # both subjects, 3 rounds
    python3 benchmarks/setup.py --subjects example --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdk import _QuietHandler, go_env, pack, sha256

ROOT = Path(__file__).resolve().parents[1]

REAL_PROGRAM = "github.com/mikefarah/yq/v4@v4.54.3"
UNREACHABLE = "http://127.0.0.1:9"


def run(argv: list[str], env: dict[str, str], cwd: Path, check: bool = True) -> float:
    """Seconds `argv` took; its output only when it fails."""
    seconds, _ = run_status(argv, env, cwd, check)
    return seconds


def run_status(
    argv: list[str], env: dict[str, str], cwd: Path, check: bool = True
) -> tuple[float, int]:
    """Seconds `argv` took and its exit status; with `check`, a failure ends the benchmark,
    else its output's end is shown."""
    os.sync()
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        said = f"{' '.join(argv)} failed in {cwd}:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
        if check:
            raise SystemExit(said)
        print(said, file=sys.stderr)
    return seconds, out.returncode


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
        shutil.rmtree(cache)
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


def by_hand_online(base: Path, clone: Path, env: dict[str, str], url: str, sums: Path) -> float:
    """The seed's way: curl, sha256sum -c, tar xzf, then go mod download in each module."""
    sdk = base / "sdk-by-hand"
    sdk.mkdir()
    script = (
        f'cd "{sdk}" && curl -fsSLO "{url}" && sha256sum -c "{sums}" >/dev/null'
        f' && tar xzf "{url.rsplit("/", 1)[1]}"'
    )
    seconds = run(["sh", "-c", script], env, base)
    go_env_path = {**env, "PATH": f"{sdk}/go/bin:{env['PATH']}", "GOTOOLCHAIN": "local"}
    for module in modules_of(clone):
        seconds += run(["go", "mod", "download"], go_env_path, module)
    return seconds


def by_hand_bundle(base: Path, clone: Path, env: dict[str, str], bundle: Path, name: str) -> float:
    sdk = base / "sdk-by-hand"
    sdk.mkdir()
    top = sdk / "gotasks-bundle"
    script = (
        f'cd "{sdk}" && tar xf "{bundle}" && cd gotasks-bundle/sdk'
        f' && sha256sum "{name}" >/dev/null && tar xzf "{name}" -C "{sdk}"'
    )
    seconds = run(["sh", "-c", script], env, base)
    proxy = f"{(top / 'goproxy').as_uri()},off"
    go_env_path = {
        **env,
        "PATH": f"{sdk}/go/bin:{env['PATH']}",
        "GOTOOLCHAIN": "local",
        "GOPROXY": proxy,
    }
    for module in modules_of(clone):
        seconds += run(["go", "mod", "download"], go_env_path, module)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subjects", default="example,yq")
    parser.add_argument(
        "--sdk-archive",
        type=Path,
        help="this machine's GOROOT already packed as go.dev packs it (packing takes minutes)",
    )
    parser.add_argument("--no-ci", action="store_true", help="leave out `inv ci` after (b)")
    args = parser.parse_args()
    version_text, goroot, goos, goarch, goproxy = go_env(
        "GOVERSION", "GOROOT", "GOOS", "GOARCH", "GOPROXY"
    )
    proxy = goproxy or "https://proxy.golang.org,direct"
    version = version_text.removeprefix("go").split()[0].split("-")[0]
    inv = [sys.executable, "-m", "invoke"]
    # No go on PATH: the machine has none until setup installs one (git, sh, curl stay).
    path = ":".join(
        p
        for p in os.environ.get("PATH", "").split(":")
        if p and not (Path(p) / "go").exists() and not Path(p, "gofmt").exists()
    )
    load_before = os.getloadavg()
    results: dict[str, dict[str, list[float]]] = {}
    ci_status: dict[str, int] = {}
    loads: dict[str, tuple[float, float]] = {}
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
        index = (
            f'[{{"version": "go{version}", "stable": true, "files": [{{"filename": "{filename}",'
            f' "os": "{goos}", "arch": "{goarch}", "version": "go{version}", "sha256":'
            f' "{digest}", "size": {archive.stat().st_size}, "kind": "archive"}}]}}]'
        )
        (served / "index.html").write_text(index)
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(work / "served"))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        mirror = f"http://127.0.0.1:{server.server_address[1]}/dl"
        for subject in args.subjects.split(","):
            origin = make_subject(subject, work, version, proxy)
            load_start = os.getloadavg()[0]
            figures: dict[str, list[float]] = {
                k: [] for k in ("a", "a_hand", "b", "b_hand", "c", "startup", "ci")
            }
            for round_ in range(args.rounds):
                base = work / f"{subject}-{round_}"
                online = {**machine(base / "m1", path), "GOTASKS_SDK_MIRROR": mirror}
                online["GOPROXY"] = proxy
                clone = base / "clone1"
                git(["clone", "-q", str(origin), str(clone)], work)
                hand = {**machine(base / "h1", path), "GOPROXY": proxy}
                steps = [
                    ("a", partial(run, [*inv, "setup"], online, clone)),
                    (
                        "a_hand",
                        partial(
                            by_hand_online, base / "h1", clone, hand, f"{mirror}/{filename}", sums
                        ),
                    ),
                ]
                for key, step in steps if round_ % 2 == 0 else reversed(steps):
                    figures[key].append(step())
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
                steps = [
                    ("b", partial(run, [*inv, "setup", "--from", str(bundle)], offline, clone2)),
                    (
                        "b_hand",
                        partial(by_hand_bundle, base / "h2", clone2, hand2, bundle, filename),
                    ),
                ]
                for key, step in steps if round_ % 2 == 0 else reversed(steps):
                    figures[key].append(step())
                steps = [
                    ("c", partial(run, [*inv, "setup"], offline, clone2)),
                    ("startup", partial(run, [*inv, "--list"], offline, clone2)),
                ]
                for key, step in steps if round_ % 2 == 0 else reversed(steps):
                    figures[key].append(step())
                if round_ == 0 and not args.no_ci:
                    ci_env = {**offline, "GOPROXY": "off"}
                    seconds, status = run_status([*inv, "ci"], ci_env, clone2, check=False)
                    figures["ci"].append(seconds)
                    ci_status[subject] = status
                shutil.rmtree(base, ignore_errors=True)
            results[subject] = figures
            loads[subject] = (load_start, os.getloadavg()[0])
            print(f"{subject}: {figures} (load {loads[subject]})", file=sys.stderr, flush=True)
        server.shutdown()
    load_after = os.getloadavg()
    print(
        f"{args.rounds} rounds, medians; load average before {load_before[0]:.1f},"
        f" after {load_after[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'subject':<8} {'step':<28} {'inv setup':>10} {'by hand':>10} {'ratio':>6}")
    for subject, figures in results.items():
        med = {k: statistics.median(v) for k, v in figures.items() if v}
        for label, mine, theirs in (
            ("(a) online", "a", "a_hand"),
            ("(b) from a bundle, no network", "b", "b_hand"),
            ("(c) ready machine / start-up", "c", "startup"),
        ):
            ratio = med[mine] / med[theirs]
            print(f"{subject:<8} {label:<28} {med[mine]:>9.2f}s {med[theirs]:>9.2f}s {ratio:>6.2f}")
        if subject in ci_status:
            status = ci_status[subject]
            green = "green" if status == 0 else f"FAILED: exit {status}"
            print(f"{subject:<8} {'inv ci after (b), offline':<28} {med['ci']:>9.2f}s   ({green})")
        start, end = loads[subject]
        print(f"{subject:<8} load average {start:.1f} at its start, {end:.1f} at its end")


if __name__ == "__main__":
    main()
