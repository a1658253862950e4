"""What a worker's run server (warm.py) read outside its checkout, arguments and environment
while loading a run, so that it can tell when that changed: the go binary the run chose and
its GOROOT, the go on PATH, the SDK store (an SDK installed or removed since), the go env
file. Each is remembered by its stamp (lookups.stamp: size, times, inode, mode); a task
that finds one changed gets a run server loaded afresh."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from gotasks.lookups import Stamp, stamp

Seen = list[tuple[str, Stamp]]


def externals(config: Any) -> Seen:
    """The paths the run's loading depended on outside the checkout, each with its stamp."""
    from gotasks.context import run_of
    from gotasks.go.goenvfile import default_go_env_file

    paths = [default_go_env_file(os.environ, sys.platform), shutil.which("go") or ""]
    run = run_of(config)
    if run.toolchain is not None:
        paths += [str(run.toolchain.go), str(run.toolchain.goroot / "VERSION")]
    if run.settings is not None:
        from gotasks.sdkconfig import sdk_root

        paths.append(str(sdk_root(run.settings, os.environ)))
    return [(path, stamp(Path(path))) for path in paths if path]


def changed(seen: Seen) -> str | None:
    """The first of `seen` that is not as it was (None: none changed)."""
    for path, seen_stamp in seen:
        if stamp(Path(path)) != seen_stamp:
            return f"{path} changed"
    return None
