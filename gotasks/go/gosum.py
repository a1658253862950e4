"""go.sum and the Go module proxy's file layout: which files a module version has in a
GOPROXY (or GOMODCACHE/cache/download) folder, and the `h1:` hashes go.sum records for them.

The hash is Go's dirhash "h1" (golang.org/x/mod/sumdb/dirhash.Hash1): SHA-256 over the
sorted lines "<hex sha256 of a file>  <its name>\\n", base64-encoded. For a module's zip the
names are the zip's file names (`path@version/...`); for its go.mod the one name is
`go.mod`. go checks exactly these against go.sum, so a file that matches here is the file
go would accept.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.errors import UsageError

GO_MOD_SUFFIX = "/go.mod"


class GoSumError(UsageError):
    """A go.sum that cannot be read, or a line that is not `path version h1:...` (exit 2)."""


@dataclass(frozen=True, order=True)
class SumLine:
    """One go.sum line: the hash of a module version's zip (`go_mod` False) or go.mod."""

    path: str
    version: str
    go_mod: bool
    hash: str

    @property
    def file(self) -> str:
        """The file it is the hash of, relative to a GOPROXY folder."""
        ext = "mod" if self.go_mod else "zip"
        return f"{proxy_dir(self.path)}/{escape(self.version)}.{ext}"


def parse_go_sum(text: str, where: str = "go.sum") -> list[SumLine]:
    """Every line of a go.sum; a malformed one is a GoSumError naming `where:line`."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split()
        if not words:
            continue
        if len(words) != 3 or not words[2].startswith("h1:"):
            raise GoSumError(f"{where}:{number}: not `path version h1:hash`: {raw.strip()!r}")
        path, version, hashed = words
        go_mod = version.endswith(GO_MOD_SUFFIX)
        lines.append(SumLine(path, version.removesuffix(GO_MOD_SUFFIX), go_mod, hashed))
    return lines


def escape(text: str) -> str:
    """A module path or version as the proxy protocol and the module cache spell it: each
    upper-case letter as '!' and its lower case (github.com/BurntSushi -> github.com/!burnt!sushi),
    so that case-insensitive file systems keep them apart."""
    return "".join(f"!{c.lower()}" if "A" <= c <= "Z" else c for c in text)


def unescape(text: str) -> str:
    out: list[str] = []
    bang = False
    for c in text:
        if bang:
            if not "a" <= c <= "z":
                raise ValueError(f"{text!r}: '!' must be followed by a lower-case letter")
            out.append(c.upper())
            bang = False
        elif c == "!":
            bang = True
        elif "A" <= c <= "Z":
            raise ValueError(f"{text!r}: an upper-case letter in an escaped path")
        else:
            out.append(c)
    if bang:
        raise ValueError(f"{text!r}: ends in '!'")
    return "".join(out)


def proxy_dir(path: str) -> str:
    """`<escaped path>/@v`: where a module's versions live in a GOPROXY folder."""
    return f"{escape(path)}/@v"


def hash1(files: Iterable[tuple[str, bytes]]) -> str:
    """dirhash.Hash1 of (name, content) pairs."""
    summary = hashlib.sha256()
    for name, data in sorted(files):
        if "\n" in name:
            raise ValueError(f"a file name with a newline: {name!r}")
        summary.update(f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def hash_zip(path: Path) -> str:
    """go.sum's hash of a module zip (dirhash.HashZip): every file in it, by its name.

    Files are read one at a time (a module zip may be hundreds of MB); a corrupt zip is a
    ValueError."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
            summary = hashlib.sha256()
            for name in names:
                if "\n" in name:
                    raise ValueError(f"a file name with a newline: {name!r}")
                digest = hashlib.sha256()
                with archive.open(name) as member:
                    for chunk in iter(lambda: member.read(1 << 20), b""):
                        digest.update(chunk)
                summary.update(f"{digest.hexdigest()}  {name}\n".encode())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise ValueError(f"not a readable zip: {error}") from None
    return "h1:" + base64.b64encode(summary.digest()).decode()


def hash_go_mod(data: bytes) -> str:
    """go.sum's `/go.mod` hash of a module's go.mod content."""
    return hash1([("go.mod", data)])


def hash_of(line: SumLine, folder: Path) -> str:
    """The h1 hash of the file `line` is about, under the GOPROXY-layout `folder`."""
    file = folder / line.file
    return hash_go_mod(file.read_bytes()) if line.go_mod else hash_zip(file)


def read_sums(root: Path, files: list[Path]) -> list[tuple[SumLine, str]]:
    """Every go.sum line of `files`, each with where it is (svc/go.sum:12)."""
    found = []
    for file in files:
        rel = os.path.relpath(file, root)
        try:
            lines = parse_go_sum(file.read_text(encoding="utf-8"), rel)
        except (OSError, UnicodeDecodeError) as error:
            raise GoSumError(f"{rel}: cannot be read: {error}") from None
        text = file.read_text(encoding="utf-8").splitlines()
        numbers: dict[str, int] = {}
        for number, raw in enumerate(text, 1):
            numbers.setdefault(" ".join(raw.split()[:2]), number)
        for line in lines:
            key = f"{line.path} {line.version}{'/go.mod' if line.go_mod else ''}"
            found.append((line, f"{rel}:{numbers.get(key, 0)}"))
    return found


def where_of(sums: list[tuple[SumLine, str]]) -> dict[SumLine, str]:
    """Each line's first place."""
    return {line: where for line, where in reversed(sums)}
