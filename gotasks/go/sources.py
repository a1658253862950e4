"""The Go source files of one module, as gofmt should see them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

# Folders whose .go files are no part of the module's own code (gofmt, vet and the hook
# never look there).
SKIP_DIRS = {"vendor", "testdata", "node_modules"}
# Far below the kernel's limit on one command line, even for long paths.
_BATCH = 500


def batches(items: list[str], size: int = _BATCH) -> Iterator[list[str]]:
    """`items` (file names) in slices short enough for one command line each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def go_files(module_dir: Path) -> list[str]:
    """Every .go file of the module (paths relative to it), nested modules excluded."""
    files = []
    for dirpath, dirnames, filenames in os.walk(module_dir):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.startswith((".", "_"))
            and not (here / d / "go.mod").exists()
        )
        for name in sorted(filenames):
            if name.endswith(".go") and not name.startswith((".", "_")):
                files.append(str((here / name).relative_to(module_dir)))
    return files


# go build refuses a file whose name starts with an ASCII byte other than these (so that no
# file can pass for a flag: SafeArg in cmd/go/internal/load/pkg.go); non-ASCII is fine.
_GO_SAFE_FIRST = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._/")


def go_refuses(path: str) -> str | None:
    """Why go's own tools fail on the package of this .go file for its name, or None."""
    name = os.fsencode(path.rsplit("/", 1)[-1])
    if name[:1] and name[0] < 0x80 and chr(name[0]) not in _GO_SAFE_FIRST:
        return f"go refuses a file name starting with {shown_path(chr(name[0]), quote=True)}"
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        # go build copes, but go vet (and so go test) cannot open it: tried with go 1.26.
        return "go vet and go test cannot open a file whose name is not UTF-8"
    return None


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def shown_path(path: str, quote: bool = False) -> str:
    """A path for a one-line message: as it is when printable, else quoted the way go quotes
    it (`"greet/nl\\nx.go"`, a byte that is not UTF-8 as `\\xff`)."""
    if path.isprintable() and not quote:
        return path
    out = []
    for ch in path:
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return '"' + "".join(out) + '"'


# A Go file's tokens as far as its header needs them: space, comments, strings, names, and
# any other single byte (names may hold UTF-8 letters: bytes from 0x80 up).
_HEADER_TOKEN = re.compile(
    rb"""(?P<skip>\s+|//[^\n]*|/\*.*?\*/)|(?P<string>"(?:\\.|[^"\\\n])*"|`[^`]*`)"""
    rb"""|(?P<name>[A-Za-z_\x80-\xff][\w\x80-\xff]*)|(?P<other>.)""",
    re.S,
)


def go_header(data: bytes) -> bytes:
    """The leading part of a Go file that decides which package it belongs to and what it
    imports: everything before its first declaration that is neither the package clause
    nor an import (so the build constraints, the package name and the imports, `import
    "C"` and its cgo preamble too). Which packages there are, which are main, which files
    each builds from and what they import (what `go list` answers) depend on no other
    part of a file. A file this does not read as Go (no package clause first, an
    unterminated comment) is its header whole: an edit anywhere then counts."""
    tokens = (m for m in _HEADER_TOKEN.finditer(data) if m.lastgroup != "skip")
    word = next(tokens, None)
    if word is None or word.group() != b"package":
        return data
    name = next(tokens, None)
    if name is None or name.lastgroup != "name":
        return data
    for token in tokens:
        if token.group() == b";":
            continue
        if token.group() != b"import":
            return data[: token.start()]
        if not _one_import(tokens):
            return data
    return data


def _one_import(tokens: Iterator[re.Match[bytes]]) -> bool:
    """Past one import declaration (after its `import`): `"path"`, `name "path"`, or a
    parenthesised group of those. False: not an import declaration as Go writes one."""
    first = next(tokens, None)
    if first is None:
        return False
    if first.group() != b"(":
        return _import_spec(first, tokens)
    for token in tokens:
        if token.group() == b")":
            return True
        if token.group() != b";" and not _import_spec(token, tokens):
            return False
    return False


def _import_spec(token: re.Match[bytes], tokens: Iterator[re.Match[bytes]]) -> bool:
    if token.lastgroup == "name" or token.group() == b".":
        following = next(tokens, None)
        if following is None:
            return False
        token = following
    return token.lastgroup == "string"
