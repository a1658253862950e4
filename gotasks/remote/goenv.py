"""The client's Go settings that decide what a build makes, carried to a worker: a worker
builds exactly what a local run builds, whatever its own `go env -w` file or environment
say (a worker whose file holds GOFLAGS=-buildvcs=false would leave out the vcs.* stamps a
client without it puts in, and every binary would differ).

Those settings are go/inputs.py's OUTPUT_GO_VARIABLES, taken from the client's environment
and from its `go env -w` file (go reads a variable from the environment when it is set
there and not empty, else from that file). On the worker, a task's environment gets the
client's variables in place of its own, and GOENV names a file holding the worker's own
`go env -w` values (its proxy, its caches) but the client's of those names. gotasks'
settings (`${GOFLAGS:-}` in config) read both as the client's did, and go sees what the
client's go saw. At connect each worker's `go env` of those names, under what a task would
get, must equal the client's: a difference that remains (another C compiler, no C compiler
at all: CGO_ENABLED) refuses the worker."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.files import atomic_write_text
from gotasks.go.goenvfile import default_go_env_file, go_env_file_values
from gotasks.go.inputs import OUTPUT_GO_VARIABLES


@dataclass(frozen=True)
class GoSettings:
    environ: dict[str, str]  # the client's variables of OUTPUT_GO_VARIABLES' names
    file: dict[str, str]  # its `go env -w` values of those names


def client_settings(environ: Mapping[str, str]) -> GoSettings:
    file = go_env_file_values(default_go_env_file(environ, sys.platform))
    return GoSettings(
        environ={k: v for k, v in environ.items() if k in OUTPUT_GO_VARIABLES},
        file={k: v for k, v in file.items() if k in OUTPUT_GO_VARIABLES},
    )


def worker_environ(
    settings: GoSettings, environ: Mapping[str, str], folder: Path
) -> dict[str, str]:
    """`environ` (a worker's) with the client's Go settings in place of its own: its
    variables of those names replaced, and GOENV a file in `folder` with its own `go env -w`
    values but the client's of those names (one file per content, written once)."""
    own = go_env_file_values(default_go_env_file(environ, sys.platform))
    merged = {k: v for k, v in own.items() if k not in OUTPUT_GO_VARIABLES} | settings.file
    text = "".join(f"{k}={v}\n" for k, v in sorted(merged.items()))
    path = folder / f"goenv-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text, durable=False)
    env = {k: v for k, v in environ.items() if k not in OUTPUT_GO_VARIABLES}
    env.update(settings.environ)
    env["GOENV"] = str(path)
    return env


def effective(environ: Mapping[str, str]) -> dict[str, str]:
    """What `go env` says of OUTPUT_GO_VARIABLES' names under `environ` (empty: no go)."""
    try:
        answer = subprocess.run(
            ["go", "env", "-json", *sorted(OUTPUT_GO_VARIABLES)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=dict(environ),
            cwd=tempfile.gettempdir(),  # no go.mod's toolchain line
        )
        values = json.loads(answer.stdout) if answer.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return {str(k): str(v) for k, v in values.items()}


def first_difference(mine: Mapping[str, str], theirs: Mapping[str, str]) -> str | None:
    """`NAME=theirs, this machine NAME=mine` for the first name whose values differ."""
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name, "") != theirs.get(name, ""):
            return f"{name}={theirs.get(name, '')!r}, this machine {name}={mine.get(name, '')!r}"
    return None
