"""The go binary a run uses and the version it reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gotasks.core.errors import UsageError
from gotasks.core.origins import Key
from gotasks.go.version import GoVersion, VersionError


@dataclass(frozen=True)
class Toolchain:
    go: Path
    goroot: Path
    version: GoVersion
    version_text: str  # as `go env GOVERSION` prints it, e.g. go1.26.8
    goenv: str = ""  # the file `go env -w` writes ("" when GOENV=off), as this go finds it

    @property
    def gofmt(self) -> Path:
        return self.goroot / "bin" / "gofmt"


def _ask_go(go: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this go itself, as it is: GOTOOLCHAIN=local (no switching to another toolchain a
    go.mod asks for) and outside any module (the user's current folder must not matter)."""
    # A GOROOT the user exported belongs to some other go: this one must report its own.
    env = {k: v for k, v in os.environ.items() if k != "GOROOT"}
    env["GOTOOLCHAIN"] = "local"
    try:
        return subprocess.run(
            [str(go), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"{go} {' '.join(args)}: no answer in 60 s") from None
    except OSError as error:
        raise UsageError(f"{go}: cannot run: {error.strerror}") from None


def reported_version(go: Path, goroot: Path) -> tuple[str | None, str]:
    """What `go version` says this go is ("go1.22.5", None if it did not say) and its words.
    Run as the SDK at `goroot` alone: nothing of the user's GO* settings, no switching."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update({"GOROOT": str(goroot), "GOTOOLCHAIN": "local", "GOENV": "off"})
    try:
        out = subprocess.run(
            [str(go), "version"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
            cwd=tempfile.gettempdir(),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, str(error)
    words = out.stdout.split()
    said = out.stdout.strip() or out.stderr.strip() or f"exit {out.returncode}"
    if out.returncode == 0 and len(words) >= 3 and words[:2] == ["go", "version"]:
        return words[2], said
    return None, said


def find_toolchain(go: Path | None = None) -> Toolchain:
    """`go` (an installed SDK's), else the go on PATH; a missing or broken go is a usage
    error."""
    if go is None:
        found = shutil.which("go")
        if found is None:
            raise UsageError(
                "go: not found on PATH; install Go (https://go.dev/dl, or `inv sdk.install"
                " latest` then `inv sdk.use VERSION`) and try again"
            )
        go = Path(found)
    out = _ask_go(go, "env", "GOVERSION", "GOROOT", "GOENV")
    lines = out.stdout.split("\n")
    text = lines[0].strip()
    if out.returncode != 0 or not text or len(lines) < 3:
        detail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"{go} env GOVERSION GOROOT GOENV failed: {detail}")
    try:
        version = GoVersion.parse(text.split()[0].split("-")[0])
    except VersionError:
        raise UsageError(f"{go}: cannot read its version from {text!r}") from None
    return Toolchain(
        go=go,
        goroot=Path(lines[1].strip()),
        version=version,
        version_text=text.split()[0],
        goenv=lines[2].strip(),
    )


def supported_targets(toolchain: Toolchain) -> set[str] | None:
    """The GOOS/GOARCH pairs this go can build for (None: it cannot say)."""
    out = _ask_go(toolchain.go, "tool", "dist", "list")
    if out.returncode != 0:
        return None  # an old or odd toolchain: go build will say it instead
    return set(out.stdout.split())


def host_target(toolchain: Toolchain) -> str:
    """This machine's GOOS/GOARCH, as this go sees it."""
    out = _ask_go(toolchain.go, "env", "GOHOSTOS", "GOHOSTARCH")
    words = out.stdout.split()
    if out.returncode != 0 or len(words) != 2:
        raise UsageError(f"{toolchain.go} env GOHOSTOS GOHOSTARCH: {out.stderr.strip()}")
    return "/".join(words)


def check_targets(
    targets: Sequence[str],
    toolchain: Toolchain,
    where: Callable[[Key], str],
    supported: set[str] | None = None,
) -> None:
    """Every build.targets entry must be a GOOS/GOARCH pair this go can build for
    (`supported`, when the caller knows them, else asked of go)."""
    if supported is None:
        supported = supported_targets(toolchain)
    if supported is None:
        return
    for index, target in enumerate(targets):
        if target not in supported:
            key = ("build", "targets", index)
            raise UsageError(
                f"{where(key)}: build.targets[{index}]: {target!r} is not a target"
                f" {toolchain.version_text} can build for (see `go tool dist list`)"
            )
