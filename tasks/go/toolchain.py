"""The go binary a run uses and the version it reports."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tasks.engine.errors import UsageError
from tasks.go.version import GoVersion, VersionError
from tasks.settings import Settings


@dataclass(frozen=True)
class Toolchain:
    go: Path
    goroot: Path
    version: GoVersion
    version_text: str  # as `go env GOVERSION` prints it, e.g. go1.26.8

    @property
    def gofmt(self) -> Path:
        return self.goroot / "bin" / "gofmt"


def find_toolchain(path: str | None = None) -> Toolchain:
    """The go on PATH (or `path`); a missing or broken go is a usage error."""
    found = shutil.which("go", path=path)
    if found is None:
        raise UsageError("go: not found on PATH; install Go (https://go.dev/dl) and try again")
    go = Path(found)
    try:
        out = subprocess.run(
            [str(go), "env", "GOVERSION", "GOROOT"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": path} if path else None,
        )
    except OSError as error:
        raise UsageError(f"{go}: cannot run: {error.strerror}") from None
    lines = out.stdout.split("\n")
    text = lines[0].strip()
    if out.returncode != 0 or not text or len(lines) < 2:
        detail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"{go} env GOVERSION GOROOT failed: {detail}")
    try:
        version = GoVersion.parse(text.split()[0].split("-")[0])
    except VersionError:
        raise UsageError(f"{go}: cannot read its version from {text!r}") from None
    goroot = Path(lines[1].strip())
    return Toolchain(go=go, goroot=goroot, version=version, version_text=text.split()[0])


def check_targets(settings: Settings, toolchain: Toolchain) -> None:
    """Every build.targets entry must be a GOOS/GOARCH pair this go can build for."""
    out = subprocess.run(
        [str(toolchain.go), "tool", "dist", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if out.returncode != 0:
        return  # an old or odd toolchain: go build will say it instead
    supported = set(out.stdout.split())
    for index, target in enumerate(settings.section("build")["targets"]):
        if target not in supported:
            key = ("build", "targets", index)
            raise UsageError(
                f"{settings.where(key)}: build.targets[{index}]: {target!r} is not a target"
                f" {toolchain.version_text} can build for (see `go tool dist list`)"
            )
