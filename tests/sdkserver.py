"""A stand-in for go.dev/dl on 127.0.0.1, serving fake Go SDK archives the test builds.

Imported like conftest (tests/ is not a package; pytest puts it on sys.path):
`from sdkserver import ReleaseServer, make_go_archive, sha256_file`.

The fake SDK's bin/go answers `go version` and `go env GOVERSION GOROOT GOENV` itself, as the
version it was built for, and hands every other command to the real go on PATH (with the real
GOROOT and GOTOOLCHAIN=local: it never fetches a toolchain), so real builds and tests work.
Every call appends a line to <sdk>/calls.log, which proves which go ran and with what
environment.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gotasks.go.artifacts import sha256_file

MTIME = 1_704_067_200  # 2024-01-01T00:00:00Z: every member, so archives are reproducible
FAKE_MARKER = "# fake go SDK built by tests/sdkserver.py"

ExtraMember = tuple[tarfile.TarInfo, bytes | None]

_GO_SCRIPT = r"""#!/bin/sh
@MARKER@ (go@VERSION@)
self=$(readlink -f -- "$0" 2>/dev/null) || self=$0
root=$(cd "$(dirname "$self")/.." && pwd -P)
{
    printf 'args=%s GOROOT=%s GOTOOLCHAIN=%s PATH1=%s\n' \
        "$*" "${GOROOT-}" "${GOTOOLCHAIN-}" "${PATH%%:*}" >>"$root/calls.log"
} 2>/dev/null || :
real_go() {
    GOROOT=@REAL_GOROOT@
    GOTOOLCHAIN=local
    export GOROOT GOTOOLCHAIN
    exec @REAL_GO@ "$@"
}
if [ "$#" -eq 1 ] && [ "$1" = version ]; then
    echo "go version go@REPORTED@ @GOOS@/@GOARCH@"
    exit 0
fi
if [ "$#" -gt 1 ] && [ "$1" = env ]; then
    shift
    flags=
    for v in "$@"; do
        case $v in -*) flags=1 ;; esac
    done
    if [ -z "$flags" ]; then
        for v in "$@"; do
            case $v in
            GOVERSION) echo "go@REPORTED@" ;;
            GOROOT) echo "$root" ;;
            GOENV)
                if [ -n "${GOENV-}" ]; then
                    echo "$GOENV"
                else
                    echo "${XDG_CONFIG_HOME:-$HOME/.config}/go/env"
                fi
                ;;
            *) (real_go env "$v") || exit $? ;;
            esac
        done
        exit 0
    fi
    set -- env "$@"
fi
real_go "$@"
"""

_GOFMT_SCRIPT = """#!/bin/sh
@MARKER@
exec @REAL_GOFMT@ "$@"
"""


@dataclass(frozen=True)
class RealGo:
    go: Path  # resolved
    goroot: Path
    gofmt: Path


def _is_fake(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return FAKE_MARKER.encode() in handle.read(256)
    except OSError:
        return False


@cache
def real_go() -> RealGo:
    """The first go on PATH that is not one of our fakes, its GOROOT and its gofmt."""
    found: Path | None = None
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which("go", path=entry) if entry else None
        if candidate and not _is_fake(Path(candidate)):
            found = Path(candidate).resolve()
            break
    if found is None:
        raise RuntimeError("go is not on PATH: the fake SDK hands real commands to the real go")
    env = {k: v for k, v in os.environ.items() if k not in ("GOROOT", "GOTOOLCHAIN")}
    out = subprocess.run(
        [str(found), "env", "GOROOT"],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "GOTOOLCHAIN": "local", "GOENV": "off"},
    )
    goroot = Path(out.stdout.strip())
    gofmt = goroot / "bin" / "gofmt"
    if not gofmt.is_file():
        which = shutil.which("gofmt")
        if which is None:
            raise RuntimeError(f"no gofmt in {goroot}/bin nor on PATH")
        gofmt = Path(which).resolve()
    return RealGo(found, goroot, gofmt)


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def _strip_go(version: str) -> str:
    return version.removeprefix("go")


def make_go_archive(
    out_dir: Path,
    version: str,
    goos: str = "linux",
    goarch: str = "amd64",
    *,
    kind: str = "tar.gz",
    reported: str | None = None,
    extra: list[ExtraMember] | None = None,
) -> Path:
    """out_dir/go{version}.{goos}-{goarch}.{kind}: a small fake Go tree under go/.

    `reported` is the version bin/go claims to be (default: `version`), to fake a mismatch.
    `extra` members (TarInfo plus data or None) are appended as they are, tar only.
    """
    if kind not in ("tar.gz", "zip"):
        raise ValueError(f"kind must be 'tar.gz' or 'zip', not {kind!r}")
    if extra and kind != "tar.gz":
        raise ValueError("extra members are for tar.gz archives only")
    version = _strip_go(version)
    said = _strip_go(reported) if reported is not None else version
    real = real_go()
    exe = ".exe" if goos == "windows" else ""
    go_script = _fill(
        _GO_SCRIPT,
        MARKER=FAKE_MARKER,
        VERSION=version,
        REPORTED=said,
        GOOS=goos,
        GOARCH=goarch,
        REAL_GO=shlex.quote(str(real.go)),
        REAL_GOROOT=shlex.quote(str(real.goroot)),
    )
    gofmt_script = _fill(_GOFMT_SCRIPT, MARKER=FAKE_MARKER, REAL_GOFMT=shlex.quote(str(real.gofmt)))
    tooldir = f"go/pkg/tool/{goos}_{goarch}"
    dirs = ["go", "go/bin", "go/src", "go/pkg", "go/pkg/tool", tooldir]
    files: list[tuple[str, bytes, int]] = [
        ("go/VERSION", f"go{version}\ntime 2024-01-01T00:00:00Z\n".encode(), 0o644),
        (f"go/bin/go{exe}", go_script.encode(), 0o755),
        (f"go/bin/gofmt{exe}", gofmt_script.encode(), 0o755),
        ("go/src/README.md", b"# Fake Go source tree\n\nBuilt by tests/sdkserver.py.\n", 0o644),
        (f"{tooldir}/placeholder", b"", 0o644),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"go{version}.{goos}-{goarch}.{kind}"
    if kind == "zip":
        _write_zip(path, dirs, files)
    else:
        _write_tar_gz(path, dirs, files, extra or [])
    return path


def _write_tar_gz(
    path: Path, dirs: list[str], files: list[tuple[str, bytes, int]], extra: list[ExtraMember]
) -> None:
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tar.addfile(info)
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, MTIME
            tar.addfile(info, io.BytesIO(data))
        for info, member_data in extra:
            tar.addfile(info, io.BytesIO(member_data) if member_data is not None else None)


def _write_zip(path: Path, dirs: list[str], files: list[tuple[str, bytes, int]]) -> None:
    stamp = time.gmtime(MTIME)[:6]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in dirs:
            info = zipfile.ZipInfo(name + "/", date_time=stamp)
            info.external_attr = (0o40755 << 16) | 0x10  # a directory, for unix and DOS
            archive.writestr(info, b"")
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


_VERSION = re.compile(r"^go(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")
_STAGES = {"alpha": 1, "beta": 2, "rc": 3}


def version_key(version: str) -> tuple[int, ...]:
    """Go's order (1.21rc1 < 1.21.0 < 1.21.1 < 1.22rc1); what does not parse is the oldest."""
    match = _VERSION.match(version)
    if not match:
        return (-1,)
    major, minor, patch, stage, pre = match.groups()
    if stage:
        return (int(major), int(minor), _STAGES[stage], int(pre), 0)
    return (int(major), int(minor), 4, 0, int(patch or 0))


@dataclass
class _Release:
    version: str  # go1.22.5
    stable: bool
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Behaviour:
    status: int | None = None  # fail(): this status instead of the file
    truncate_at: int | None = None
    chunk: int | None = None  # slow(): bytes per write
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a trickling download must not hold up the exit
    release: ReleaseServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # No traceback on stderr: a client that hung up is normal here; anything else is kept.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError | TimeoutError):
            with self.release._lock:
                self.release.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        release = self.server.release
        with release._lock:
            release.requests.append(self.path)
        url = urlsplit(self.path)
        if url.path in ("/dl", "/dl/"):
            self._index(parse_qs(url.query))
        elif url.path.startswith("/dl/") and "/" not in url.path[4:]:
            self._file(url.path[4:])
        else:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _index(self, query: dict[str, list[str]]) -> None:
        release = self.server.release
        if release.index_status != 200 and release.index_body is None:
            body = f"{release.index_status} index unavailable\n".encode()
            self._send(release.index_status, body, "text/plain; charset=utf-8")
        elif release.index_body is not None:
            self._send(release.index_status, release.index_body, "application/json")
        elif query.get("mode") == ["json"]:
            everything = query.get("include") == ["all"]
            body = json.dumps(release.index(stable_only=not everything), indent=1).encode()
            self._send(200, body, "application/json")
        else:
            self._send(200, b"<!DOCTYPE html><title>Downloads</title>\n", "text/html")

    def _file(self, name: str) -> None:
        release = self.server.release
        with release._lock:
            path = release._served.get(name)
            how = release._behaviour.get(name, _Behaviour())
        if how.status is not None:
            self._send(how.status, f"{how.status} {name}\n".encode(), "text/plain")
            return
        if path is None:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        if how.truncate_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        limit = len(data) if how.truncate_at is None else min(how.truncate_at, len(data))
        try:
            if how.chunk is None:
                self.wfile.write(data[:limit])
            else:
                for start in range(0, limit, how.chunk):
                    if start and release._stopping.wait(how.delay):
                        self.close_connection = True
                        return
                    self.wfile.write(data[start : min(start + how.chunk, limit)])
                    self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        if how.truncate_at is not None:
            self.close_connection = True


class ReleaseServer:
    """go.dev/dl on 127.0.0.1: `with ReleaseServer() as server: server.add(archive, "1.22.5")`.

    The index is at f"{server.base}/?mode=json&include=all", files at f"{server.base}/<name>".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._releases: dict[str, _Release] = {}
        self._served: dict[str, Path] = {}
        self._behaviour: dict[str, _Behaviour] = {}
        self._thread: threading.Thread | None = None
        self.requests: list[str] = []  # every request's path (with its query), in order
        self.errors: list[BaseException] = []  # handler errors other than a client hanging up
        self.index_status = 200
        self.index_body: bytes | None = None
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.release = self
        self.port: int = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/dl"

    @property
    def index_url(self) -> str:
        return f"{self.base}/?mode=json&include=all"

    def url(self, filename: str) -> str:
        return f"{self.base}/{filename}"

    def __enter__(self) -> ReleaseServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def add(
        self,
        archive: Path,
        version: str,
        goos: str = "linux",
        goarch: str = "amd64",
        *,
        stable: bool = True,
        sha256: str | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """List `archive` under go{version} and serve it at /dl/<its name>; returns the entry."""
        name = "go" + _strip_go(version)
        entry: dict[str, Any] = {
            "filename": archive.name,
            "os": goos,
            "arch": goarch,
            "version": name,
            "sha256": sha256 if sha256 is not None else sha256_file(archive),
            "size": size if size is not None else archive.stat().st_size,
            "kind": "archive",
        }
        with self._lock:
            release = self._releases.get(name)
            if release is None:
                release = self._releases[name] = _Release(name, stable)
                release.files.append(_unserved(f"{name}.src.tar.gz", "", "", name, "source"))
                release.files.append(
                    _unserved(f"{name}.darwin-amd64.pkg", "darwin", "amd64", name, "installer")
                )
            release.stable = stable
            release.files = [f for f in release.files if f["filename"] != archive.name]
            release.files.insert(len(release.files) - 1, entry)  # before the installer
            self._served[archive.name] = archive
        return entry

    def index(self, stable_only: bool = False) -> list[dict[str, Any]]:
        """What the JSON index says now: newest release first."""
        with self._lock:
            releases = sorted(
                self._releases.values(), key=lambda r: version_key(r.version), reverse=True
            )
            return [
                {"version": r.version, "stable": r.stable, "files": [dict(f) for f in r.files]}
                for r in releases
                if r.stable or not stable_only
            ]

    def _set(self, filename: str, **changes: Any) -> None:
        with self._lock:
            how = self._behaviour.setdefault(filename, _Behaviour())
            for key, value in changes.items():
                setattr(how, key, value)

    def fail(self, filename: str, status: int = 404) -> None:
        """Answer `status` instead of the file."""
        self._set(filename, status=status)

    def truncate(self, filename: str, at_bytes: int) -> None:
        """Send the full Content-Length, then `at_bytes` bytes only, then close."""
        self._set(filename, truncate_at=at_bytes)

    def slow(self, filename: str, chunk: int = 65536, delay: float = 0.2) -> None:
        """Trickle the file: `chunk` bytes, then `delay` seconds, and again."""
        self._set(filename, chunk=chunk, delay=delay)

    def reset(self, filename: str) -> None:
        """Serve the file normally again."""
        with self._lock:
            self._behaviour.pop(filename, None)

    def downloads(self, filename: str) -> int:
        """How many times /dl/<filename> was asked for."""
        with self._lock:
            return sum(1 for p in self.requests if urlsplit(p).path == f"/dl/{filename}")


def _unserved(filename: str, goos: str, goarch: str, version: str, kind: str) -> dict[str, Any]:
    """An index entry with no file behind it (404), as go.dev lists sources and installers."""
    return {
        "filename": filename,
        "os": goos,
        "arch": goarch,
        "version": version,
        "sha256": hashlib.sha256(filename.encode()).hexdigest(),
        "size": 1000 + len(filename),
        "kind": kind,
    }
