"""The Go source files of one module, as gofmt should see them."""

from __future__ import annotations

import os
from pathlib import Path

_SKIP_DIRS = {"vendor", "testdata", "node_modules"}


def go_files(module_dir: Path) -> list[str]:
    """Every .go file of the module (paths relative to it), nested modules excluded."""
    files = []
    for dirpath, dirnames, filenames in os.walk(module_dir):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS
            and not d.startswith((".", "_"))
            and not (here / d / "go.mod").exists()
        )
        for name in sorted(filenames):
            if name.endswith(".go") and not name.startswith((".", "_")):
                files.append(str((here / name).relative_to(module_dir)))
    return files
