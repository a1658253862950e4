"""Regenerate gotasks/shipped/: every file gotasks ever put into a repository by copying.

Until commit 1b08b57 an adopting repository got gotasks as copies (tasks.py, invoke.yaml,
tasks/, the pre-commit config). `inv init` migrates such a repository: it removes the copies
that are unchanged and keeps the ones a team edited. For that it needs the digest of every
version of those files that was ever shipped (manifest.json: path -> sorted sha256 list) and,
to say how an edited copy differs, the text of each version (copies.json.xz: sha256 -> text).

Both come from this repository's own history, every commit up to the last of the copy era:

    python3 scripts/shipped_manifest.py            # rewrites gotasks/shipped/
    python3 scripts/shipped_manifest.py --check    # exit 1 when the files are not what git says
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "gotasks" / "shipped"
# The last commit whose tasks.py loaded a copied tasks/ folder (its child made gotasks a
# package); nothing later was ever copied.
LAST_COPY_ERA = "d665796"
COPIED = ("tasks.py", "invoke.yaml", ".pre-commit-config.yaml", "tasks")


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def shipped() -> dict[str, dict[str, bytes]]:
    """path -> {sha256: content} over every commit of the copy era."""
    blobs: dict[str, set[str]] = {}
    for commit in git("rev-list", LAST_COPY_ERA).decode().split():
        listing = git("ls-tree", "-r", "-z", commit, "--", *COPIED).decode()
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            _mode, kind, blob = meta.split()
            if kind == "blob" and "__pycache__" not in path and not path.endswith(".pyc"):
                blobs.setdefault(path, set()).add(blob)
    out: dict[str, dict[str, bytes]] = {}
    for path, ids in sorted(blobs.items()):
        for blob in sorted(ids):
            data = git("cat-file", "blob", blob)
            out.setdefault(path, {})[hashlib.sha256(data).hexdigest()] = data
    return out


def render(files: dict[str, dict[str, bytes]]) -> tuple[bytes, bytes]:
    manifest = {
        "from": f"git history of gotasks up to {LAST_COPY_ERA} (scripts/shipped_manifest.py)",
        "files": {path: sorted(versions) for path, versions in files.items()},
    }
    texts = {
        digest: data.decode("utf-8")
        for versions in files.values()
        for digest, data in versions.items()
    }
    copies = json.dumps(dict(sorted(texts.items())), sort_keys=True).encode()
    # A fixed preset and no timestamps: the same history gives the same bytes.
    return (
        json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n",
        lzma.compress(copies, preset=9 | lzma.PRESET_EXTREME),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    manifest, copies = render(shipped())
    targets = {OUT / "manifest.json": manifest, OUT / "copies.json.xz": copies}
    if args.check:
        stale = [p.name for p, data in targets.items() if not p.is_file() or p.read_bytes() != data]
        if stale:
            print(f"stale: {', '.join(stale)}: run python3 scripts/shipped_manifest.py")
            return 1
        print("gotasks/shipped/ is up to date")
        return 0
    OUT.mkdir(exist_ok=True)
    for path, data in targets.items():
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
