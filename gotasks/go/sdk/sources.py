"""Where SDK archives come from: a release index in go.dev's format, or the Go module proxy."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gotasks.core import reaper
from gotasks.core.cancel import check_stop
from gotasks.go.artifacts import sha256_file
from gotasks.go.redact import redact
from gotasks.go.sdk.fetch import Progress, SourceError, download, fetch_json
from gotasks.go.sdk.platform import Platform
from gotasks.go.sdk.releases import IndexFormatError, Release, go_name, parse_index
from gotasks.go.sdk.store import SdkStore, remove_tree, tree_bytes
from gotasks.go.version import GoVersion, VersionError

TOOLCHAIN_MODULE = "golang.org/toolchain"
# How a proxy says a version does not exist (as opposed to: cannot be reached).
_MISSING = re.compile(r"not available|unknown revision|invalid version|not found|no matching")


@dataclass(frozen=True)
class Candidate:
    """One archive of one version from one source, as the installer fetches it."""

    version: GoVersion
    filename: str  # its name in the cache
    sha256: str | None  # known before the download (index); the module proxy's is Go's job
    size: int | None
    prefix: str  # the folder the Go tree sits in, inside the archive
    source: str


class Source(Protocol):
    name: str

    def versions(self) -> list[tuple[GoVersion, bool]]:
        """Every version offered for this platform, with whether it is stable."""
        ...

    def candidate(self, version: GoVersion) -> Candidate | None:
        """The archive for `version`, or None when this source has no such version."""
        ...

    def fetch(self, candidate: Candidate, part: Path, progress: Progress | None) -> str:
        """Write the archive to `part`; its SHA-256 once checked (SourceError otherwise)."""
        ...


class IndexSource:
    """A go.dev/dl-style base URL: `BASE/?mode=json&include=all` beside `BASE/<filename>`."""

    def __init__(self, base: str, platform: Platform, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.platform, self.timeout = platform, timeout
        self.name = f"index {redact(self.base)}"
        self._releases: list[Release] | None = None

    def releases(self) -> list[Release]:
        if self._releases is None:
            url = f"{self.base}/?mode=json&include=all"
            try:
                self._releases = parse_index(fetch_json(url, self.timeout))
            except IndexFormatError as error:
                raise SourceError(f"{redact(url)}: not a Go release index ({error})") from None
        return self._releases

    def versions(self) -> list[tuple[GoVersion, bool]]:
        return [(r.version, r.stable) for r in self.releases() if r.archive_for(self.platform)]

    def candidate(self, version: GoVersion) -> Candidate | None:
        for release in self.releases():
            if release.version == version:
                file = release.archive_for(self.platform)
                if file is None:
                    return None
                return Candidate(version, file.filename, file.sha256, file.size, "go/", self.name)
        return None

    def fetch(
        self,
        candidate: Candidate,
        part: Path,
        progress: Progress | None,
        written: Callable[[int], None] | None = None,
    ) -> str:
        """As Source.fetch; `written` is told the bytes in `part` after each write (what
        unpacks the archive as it downloads follows it: streamed.py)."""
        url = f"{self.base}/{candidate.filename}"
        sha256 = download(url, part, candidate.size, self.timeout, progress, written)
        if sha256 != candidate.sha256:
            raise SourceError(
                f"{redact(url)}: SHA-256 mismatch: the index says {candidate.sha256},"
                f" the download is {sha256}"
            )
        return sha256


class ProxySource:
    """golang.org/toolchain@v0.0.1-goX.Y.Z.OS-ARCH through the env's GOPROXY. `go mod
    download` fetches it and checks it against the checksum database (GOSUMDB), as Go's own
    toolchain switching does; that needs some go binary to drive it."""

    name = "module proxy"

    def __init__(
        self, platform: Platform, go: Path | None, go_env: dict[str, str], store: SdkStore
    ) -> None:
        self.platform, self.go, self.scratch = platform, go, store.root
        self.temp_prefix = store.temp_prefix
        self.go_env = go_env
        proxy = go_env.get("GOPROXY") or "https://proxy.golang.org,direct"
        self.name = f"module proxy {redact(proxy)}"

    def _suffix(self) -> str:
        return f".{self.platform.goos}-{self.platform.goarch}"

    def _module_version(self, version: GoVersion) -> str:
        return f"v0.0.1-{go_name(version)}{self._suffix()}"

    def _env(self, modcache: Path | None) -> dict[str, str]:
        if self.go is None:
            raise SourceError(f"{self.name}: needs a go binary to verify downloads; none found")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env.update({k: v for k, v in self.go_env.items() if v is not None})
        # Nothing of the user's build settings applies here; the cache is ours to delete.
        env.update({"GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw", "GOWORK": "off"})
        for key in ("HOME", "GOENV", "GOPATH", "GOCACHE", "GOMODCACHE"):
            if key in os.environ and key not in env:
                env[key] = os.environ[key]
        if modcache is not None:
            env["GOMODCACHE"] = str(modcache)
        return env

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        env = self._env(None)
        try:
            return subprocess.run(
                [str(self.go), *args],
                capture_output=True,
                text=True,
                env=env,
                cwd=tempfile.gettempdir(),
                check=False,
                timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SourceError(f"{self.name}: {self.go} failed to run: {error}") from None

    def _download(
        self, args: list[str], modcache: Path, progress: Progress | None
    ) -> subprocess.CompletedProcess[str]:
        """`go mod download`, watched: the bytes it has so far (go shows none), and a stop
        (Ctrl-C, timeout) ends it at once."""
        env = self._env(modcache)
        argv = [str(self.go), *args]
        reaper.arm()  # it dies with `inv`, even a killed one
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tempfile.gettempdir(),
                start_new_session=True,  # ours to stop, not the terminal's
            )
        except OSError as error:
            raise SourceError(f"{self.name}: {self.go} failed to run: {error}") from None
        reaper.watch(proc.pid)
        try:
            while True:
                try:
                    out, err = proc.communicate(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    check_stop()
                    if progress is not None:
                        progress(tree_bytes(modcache / "cache" / "download"), 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def _failure(self, out: subprocess.CompletedProcess[str]) -> str:
        text = out.stdout + out.stderr
        try:
            error = json.loads(out.stdout).get("Error", "")
        except (ValueError, AttributeError):
            error = ""
        lines = [line for line in (error or text).strip().splitlines() if line.strip()]
        return redact(lines[-1] if lines else f"exit {out.returncode}")

    def versions(self) -> list[tuple[GoVersion, bool]]:
        out = self._run(["list", "-m", "-versions", TOOLCHAIN_MODULE])
        if out.returncode != 0:
            raise SourceError(f"{self.name}: {self._failure(out)}")
        found = []
        for word in out.stdout.split()[1:]:
            if not word.startswith("v0.0.1-go") or not word.endswith(self._suffix()):
                continue
            try:
                version = GoVersion.parse(word[len("v0.0.1-") : -len(self._suffix())])
            except VersionError:
                continue
            found.append((version, version.stage == 4))
        return found

    def candidate(self, version: GoVersion) -> Candidate | None:
        """Asked of the proxy for this one version (`go list -m`): its list is not complete."""
        module_version = self._module_version(version)
        out = self._run(["list", "-m", "-json", f"{TOOLCHAIN_MODULE}@{module_version}"])
        if out.returncode != 0:
            message = self._failure(out)
            if _MISSING.search(message):
                return None
            raise SourceError(f"{self.name}: {message}")
        return Candidate(
            version,
            filename=f"golang.org-toolchain-{module_version}.zip",
            sha256=None,
            size=None,
            prefix=f"{TOOLCHAIN_MODULE}@{module_version}/",
            source=self.name,
        )

    def fetch(self, candidate: Candidate, part: Path, progress: Progress | None) -> str:
        self.scratch.mkdir(parents=True, exist_ok=True)
        # Named after the version: a killed install's leftover is cleared by the next
        # install of that version, under its lock.
        prefix = f"{self.temp_prefix(candidate.version)}modcache-"
        modcache = Path(tempfile.mkdtemp(prefix=prefix, dir=self.scratch))
        try:
            wanted = f"{TOOLCHAIN_MODULE}@{self._module_version(candidate.version)}"
            out = self._download(["mod", "download", "-json", wanted], modcache, progress)
            if out.returncode != 0:
                message = self._failure(out)
                if _MISSING.search(message):
                    raise SourceError(
                        f"{self.name}: no {go_name(candidate.version)} for {self.platform}"
                    )
                raise SourceError(f"{self.name}: {message}")
            try:
                zip_path = Path(json.loads(out.stdout)["Zip"])
            except (ValueError, KeyError, TypeError):
                raise SourceError(f"{self.name}: go mod download said no zip") from None
            shutil.copyfile(zip_path, part)
        finally:
            remove_tree(modcache)
        return sha256_file(part)
