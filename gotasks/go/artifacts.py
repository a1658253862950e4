"""Build outputs: binary names per target, SHA256SUMS, byte-for-byte comparison."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from gotasks.core.files import atomic_write_text, naming

_MAJOR_VERSION = re.compile(r"^v[0-9]+$")
SUMS = "SHA256SUMS"


def short_name(import_path: str) -> str:
    """The last element of an import path, as go build names a binary: example.com/tool/v2
    gives "tool", not "v2"."""
    parts = import_path.rstrip("/").split("/")
    if len(parts) > 1 and _MAJOR_VERSION.match(parts[-1]):
        parts.pop()
    return parts[-1]


def binary_name(package: str, goos: str) -> str:
    name = short_name(package)
    return f"{name}.exe" if goos == "windows" else name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sha256sums(dist: Path) -> Path:
    """dist/SHA256SUMS over every file in dist's target folders, in `sha256sum -c` format."""
    lines = []
    for path in sorted(p for p in dist.glob("*/**/*") if p.is_file()):
        if path.relative_to(dist).parts[0].startswith("."):
            continue  # a build's scratch folder, ours or a concurrent one's
        lines.append(f"{sha256_file(path)}  {path.relative_to(dist).as_posix()}\n")
    target = dist / SUMS
    with naming(target):
        atomic_write_text(target, "".join(lines))
    return target


def differing_files(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on one side counts)."""
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(n) for n in names_a ^ names_b)
    for name in sorted(names_a & names_b):
        if sha256_file(a / name) != sha256_file(b / name):
            differ.append(str(name))
    return differ
