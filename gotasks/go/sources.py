"""The Go source files of one module, as gofmt should see them."""

from __future__ import annotations

import os
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
