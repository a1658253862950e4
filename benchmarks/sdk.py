"""`inv sdk.install` of a real Go toolchain archive served locally, against the bound a
shell gives: `sha256sum` plus `tar xzf` of the same file.

The archive is this machine's own GOROOT packed as go.dev packs it (go/ at the top), listed
in a go.dev-style index on 127.0.0.1. Each round runs the baseline and gotasks one after the
other on the same machine, so a noisy neighbour slows both; the figure is the ratio of
medians. Also: a reinstall from gotasks' cache (no download) against `tar xzf` alone.

    python benchmarks/sdk.py             # 3 rounds, a table
    python benchmarks/sdk.py --rounds 5 --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def release_index(
    archive: Path, version: str, goos: str, goarch: str, digest: str
) -> list[dict[str, Any]]:
    """go.dev's release index (what /dl/?mode=json serves) naming one archive."""
    return [
        {
            "version": f"go{version}",
            "stable": True,
            "files": [
                {
                    "filename": archive.name,
                    "os": goos,
                    "arch": goarch,
                    "version": f"go{version}",
                    "sha256": digest,
                    "size": archive.stat().st_size,
                    "kind": "archive",
                }
            ],
        }
    ]


def go_env(*names: str) -> list[str]:
    out = subprocess.run(
        ["go", "env", *names],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    )
    return out.stdout.split("\n")[: len(names)]


def pack(goroot: Path, archive: Path) -> None:
    """GOROOT as go.dev packs it: one go/ folder, regular files and folders only."""
    staging = archive.parent / "staging"
    shutil.copytree(goroot, staging / "go", symlinks=False)
    subprocess.run(["tar", "czf", str(archive), "-C", str(staging), "go"], check=True)
    shutil.rmtree(staging)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def timed(argv: list[str], **kwargs: object) -> float:
    # Write back what the last removal left dirty first: on an overlay filesystem a big
    # rm -rf still in flight slows whichever command comes next, tar or gotasks.
    os.sync()
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - t0


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    version_text, goroot, goos, goarch = go_env("GOVERSION", "GOROOT", "GOOS", "GOARCH")
    version = version_text.removeprefix("go").split()[0].split("-")[0]
    with tempfile.TemporaryDirectory(prefix="gotasks-sdk-bench-") as scratch:
        work = Path(scratch)
        served = work / "dl"
        served.mkdir()
        filename = f"go{version}.{goos}-{goarch}.tar.gz"
        archive = served / filename
        print(f"packing {goroot} into {filename} ...", file=sys.stderr)
        pack(Path(goroot), archive)
        size = archive.stat().st_size
        index = release_index(archive, version, goos, goarch, sha256(archive))
        (served / "index.html").write_text(json.dumps(index))  # what /dl/?mode=json serves
        handler = partial(_QuietHandler, directory=str(work))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/dl"

        env = {**os.environ, "GOTASKS_SDK_MIRROR": base, "GOPROXY": "off", "NO_COLOR": "1"}
        inv = [sys.executable, "-m", "invoke", "sdk.install", version]
        shell, fresh, cached, untar = [], [], [], []
        for round_ in range(args.rounds):
            # Every run writes into folders never used before: re-creating a tree just
            # removed is faster on some filesystems, and that must favour no one.
            out = work / f"shell-{round_}"
            out.mkdir()
            shell.append(
                timed(["sh", "-c", f'sha256sum "{archive}" && tar xzf "{archive}" -C "{out}"'])
            )
            sdk_env = {**env, "GOTASKS_SDK_ROOT": str(work / f"sdk-{round_}")}
            fresh.append(timed(inv, cwd=ROOT, env=sdk_env))
            os.rename(work / f"sdk-{round_}" / version, work / f"gone-{round_}")
            cached.append(timed(inv, cwd=ROOT, env=sdk_env))  # the verified archive is cached
            out = work / f"tar-{round_}"
            out.mkdir()
            untar.append(timed(["tar", "xzf", str(archive), "-C", str(out)]))
        server.shutdown()

    figures = {
        "archive_mb": round(size / 1e6, 1),
        "shell_sha256sum_tar_s": round(statistics.median(shell), 3),
        "gotasks_install_s": round(statistics.median(fresh), 3),
        "ratio_install": round(statistics.median(fresh) / statistics.median(shell), 2),
        "tar_only_s": round(statistics.median(untar), 3),
        "gotasks_cached_reinstall_s": round(statistics.median(cached), 3),
        "ratio_cached": round(statistics.median(cached) / statistics.median(untar), 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"archive: {filename}, {figures['archive_mb']} MB, {args.rounds} rounds (medians)")
    rows = [
        ("sha256sum + tar xzf", figures["shell_sha256sum_tar_s"], 1.0),
        ("inv sdk.install (download)", figures["gotasks_install_s"], figures["ratio_install"]),
        ("tar xzf", figures["tar_only_s"], 1.0),
        (
            "inv sdk.install (cached)",
            figures["gotasks_cached_reinstall_s"],
            figures["ratio_cached"],
        ),
    ]
    for label, seconds, ratio in rows:
        print(f"  {label:<28} {seconds:7.2f} s   {ratio:.2f}")


if __name__ == "__main__":
    main()
