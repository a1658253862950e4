"""Which container engine builds the image (docker, podman or buildah) and whether it has
BuildKit's features: cache mounts and secrets, which the Dockerfile needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from gotasks.core.errors import UsageError

ENGINES = ("docker", "podman", "buildah")
_BUILDX = ("buildx", "build", "--load")  # --load: the image goes to docker's own store


@dataclass(frozen=True)
class Engine:
    name: str
    build: tuple[str, ...]  # the command that builds, before the options
    env: dict[str, str] = field(default_factory=dict)  # extra environment for it
    buildkit: bool = True
    why_not: str = ""  # when buildkit is False: what is missing


def _output(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _docker(path: str, environ: Mapping[str, str]) -> Engine:
    if environ.get("DOCKER_BUILDKIT") == "0":
        return Engine("docker", (path, "build"), buildkit=False, why_not="DOCKER_BUILDKIT=0")
    if _output([path, "buildx", "version"]) is not None:
        return Engine("docker", (path, *_BUILDX))
    # `docker --version` needs no daemon: "Docker version 28.2.2, build e6534b4".
    words = (_output([path, "--version"]) or "").replace(",", " ").split()
    version = words[2] if len(words) > 2 and words[:2] == ["Docker", "version"] else ""
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) < 23:
        # Before 23, the daemon's own BuildKit serves `docker build` when asked to.
        return Engine("docker", (path, "build"), env={"DOCKER_BUILDKIT": "1"})
    return Engine(
        "docker",
        (path, "build"),
        buildkit=False,
        why_not=f"docker {version or '(unknown version)'} has no buildx plugin",
    )


def find_engine(wanted: str, environ: Mapping[str, str] | None = None) -> Engine:
    """`wanted` (docker.engine): auto takes the first of docker, podman, buildah on PATH."""
    environ = os.environ if environ is None else environ
    names = ENGINES if wanted == "auto" else (wanted,)
    for name in names:
        path = shutil.which(name, path=environ.get("PATH"))
        if path is None:
            continue
        if name == "docker":
            return _docker(path, environ)
        # podman and buildah read RUN --mount and --secret themselves.
        return Engine(name, (path, "build"))
    looked = "docker, podman or buildah" if wanted == "auto" else wanted
    raise UsageError(
        f"docker.build: no container engine ({looked}) on PATH;"
        " `inv docker.build --dry-run` prints the command it would run"
    )


def assumed_engine(wanted: str) -> Engine:
    """What --dry-run shows when `wanted` is not installed: docker with buildx for auto."""
    name = "docker" if wanted == "auto" else wanted
    return Engine(name, (name, *_BUILDX) if name == "docker" else (name, "build"))
