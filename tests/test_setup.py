"""`inv setup` from a fresh HOME and empty caches to a green `inv ci`: the SDK from a release
server on 127.0.0.1, the modules from a module proxy served from a folder on 127.0.0.1; then
a bundle (--export) restored with no network (--from), tampered bundles refused, a second
setup doing nothing, and Ctrl-C (a real SIGINT) leaving every finished stage intact."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import GOPROXY_DATA, Project, clean_env, zip_with_a_line_added
from sdkserver import ReleaseServer, make_go_archive

pytestmark = pytest.mark.e2e

SDK_VERSION = "1.26.7"  # a fake SDK (tests/sdkserver.py) that hands real work to the real go
# No server listens on port 9 (discard): "the network" for a machine without one.
UNREACHABLE = "http://127.0.0.1:9"
GO_SUM = """\
github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=
github.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=
"""
ZIP = "goproxy/github.com/pkg/errors/@v/v0.9.1.zip"


@dataclass
class ModuleProxy:
    """A GOPROXY on 127.0.0.1 serving a folder; `hold` makes .zip requests wait."""

    folder: Path
    requests: list[str] = field(default_factory=list)
    hold: threading.Event | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def module_proxy(tmp_path: Path) -> Iterator[ModuleProxy]:
    folder = tmp_path / "proxy"
    shutil.copytree(GOPROXY_DATA, folder)
    proxy = ModuleProxy(folder)

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            proxy.requests.append(self.path)
            if proxy.hold is not None and self.path.endswith(".zip"):
                proxy.hold.wait(60)
            super().do_GET()

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that hung up (go stopped by Ctrl-C)

    server = Server(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield proxy
    if proxy.hold is not None:
        proxy.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def releases(tmp_path: Path) -> Iterator[ReleaseServer]:
    with ReleaseServer() as server:
        server.add(make_go_archive(tmp_path / "archives", SDK_VERSION), SDK_VERSION)
        yield server


# The build cache is no part of what setup fetches, and a fresh one costs minutes of
# compiling the standard library on a loaded machine: every test but the first shares one.
SHARED_GOCACHE = (
    Path(os.environ.get("TMPDIR", "/tmp")) / f"gotasks-setup-tests-gocache-{os.getuid()}"
)


def machine(base: Path, proxy: str, mirror: str, *, fresh_gocache: bool = False) -> dict[str, str]:
    """A machine with nothing on it yet: its own HOME, module cache and SDK root (and build
    cache with `fresh_gocache`)."""
    for name in ("home", "gopath", "gocache", "sdk"):
        (base / name).mkdir(parents=True, exist_ok=True)
    gocache = base / "gocache" if fresh_gocache else SHARED_GOCACHE
    return {
        "HOME": str(base / "home"),
        "XDG_CONFIG_HOME": str(base / "home" / ".config"),
        "GOPATH": str(base / "gopath"),
        "GOMODCACHE": str(base / "gopath" / "pkg" / "mod"),
        "GOCACHE": str(gocache),
        "GOTASKS_SDK_ROOT": str(base / "sdk"),
        "GOTASKS_SDK_MIRROR": mirror,
        "GOPROXY": proxy,
        # The module cache's files are read-only otherwise; the test removes it after.
        "GOFLAGS": "-modcacherw",
    }


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    """The example project, its module given a real dependency (github.com/pkg/errors, which
    the module_proxy fixture serves) and its go.sum."""
    project = make_project()
    go_mod = project.root / "hello" / "go.mod"
    go_mod.write_text(
        go_mod.read_text(encoding="utf-8") + "\nrequire github.com/pkg/errors v0.9.1\n",
        encoding="utf-8",
    )
    project.write("hello/go.sum", GO_SUM)
    project.write(
        "hello/internal/wrap/wrap.go",
        'package wrap\n\nimport "github.com/pkg/errors"\n\n'
        "// Wrap adds context to an error.\n"
        'func Wrap(err error) error { return errors.Wrap(err, "hello") }\n',
    )
    project.write(".go-version", f"{SDK_VERSION}\n")
    # One target: ci's cross builds would only add compile time.
    dev = project.root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "build:\n  targets: [linux/amd64]\n", encoding="utf-8")
    project.commit_all("a dependency and a pinned go")
    return project


def ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_fresh_machine_to_green_ci_then_a_second_setup_does_nothing(
    project: Project,
    module_proxy: ModuleProxy,
    releases: ReleaseServer,
    tmp_path: Path,
) -> None:
    env = machine(tmp_path / "m1", module_proxy.url, releases.base, fresh_gocache=True)

    out = ok(project.inv("setup", env=env))
    for stage in ("go ", "modules hello", "tools hello", "hook ", "doctor "):
        assert f"  {stage}" in out, out
    assert f"go{SDK_VERSION} installed from the network" in out
    assert "setup: done in" in out and "from the network: " in out
    assert (tmp_path / "m1" / "sdk" / SDK_VERSION / ".gotasks-sdk.json").is_file()
    zip_in_cache = tmp_path / "m1/gopath/pkg/mod/cache/download/github.com/pkg/errors/@v/v0.9.1.zip"
    assert zip_in_cache.is_file()
    assert "# installed by gotasks" in (project.root / ".git/hooks/pre-commit").read_text()
    assert any(r.endswith("v0.9.1.zip") for r in module_proxy.requests)

    # Everything is on the machine now: ci needs neither the proxy nor the release server.
    offline = {**env, "GOPROXY": "off", "GOTASKS_SDK_MIRROR": UNREACHABLE}
    ci = ok(project.inv("ci", env=offline))
    assert f"go{SDK_VERSION}" in ci

    asked, downloads = len(module_proxy.requests), len(releases.requests)
    again = ok(project.inv("setup", env=env))
    assert "ready: nothing to do" in again
    assert "doctor" in again and "skipped: nothing changed" in again
    assert "from the network: 0 files" in again
    assert len(module_proxy.requests) == asked and len(releases.requests) == downloads


def test_export_then_from_with_no_network(
    project: Project,
    module_proxy: ModuleProxy,
    releases: ReleaseServer,
    tmp_path: Path,
) -> None:
    online = machine(tmp_path / "m1", module_proxy.url, releases.base)
    bundle = tmp_path / "out" / "bundle.tar"
    out = ok(project.inv("setup", "--export", str(bundle), env=online))
    assert "  export" in out and bundle.is_file()
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    assert f"gotasks-bundle/sdk/go{SDK_VERSION}.linux-amd64.tar.gz" in names
    for ext in ("zip", "mod", "info"):
        assert f"gotasks-bundle/goproxy/github.com/pkg/errors/@v/v0.9.1.{ext}" in names
    assert not list(bundle.parent.glob(".*tmp"))

    # Another machine, nothing on it, and no network: both servers unreachable.
    asked, downloads = len(module_proxy.requests), len(releases.requests)
    offline = machine(tmp_path / "m2", UNREACHABLE, UNREACHABLE + "/dl")
    restored = ok(project.inv("setup", "--from", str(bundle), env=offline))
    assert f"go{SDK_VERSION} installed from the bundle" in restored
    assert "from the bundle: " in restored
    assert (tmp_path / "m2" / "sdk" / SDK_VERSION / ".gotasks-sdk.json").is_file()
    ok(project.inv("ci", env={**offline, "GOPROXY": "off"}))
    assert len(module_proxy.requests) == asked and len(releases.requests) == downloads


@pytest.mark.parametrize(
    ("member", "named"),
    [
        (ZIP, ZIP + ": h1:"),
        (
            f"sdk/go{SDK_VERSION}.linux-amd64.tar.gz",
            f"sdk/go{SDK_VERSION}.linux-amd64.tar.gz: SHA-256",
        ),
    ],
)
def test_a_tampered_bundle_is_refused_naming_the_file(
    project: Project,
    module_proxy: ModuleProxy,
    releases: ReleaseServer,
    tmp_path: Path,
    member: str,
    named: str,
) -> None:
    bundle = tmp_path / "bundle.tar"
    ok(
        project.inv(
            "setup",
            "--export",
            str(bundle),
            env=machine(tmp_path / "m1", module_proxy.url, releases.base),
        )
    )
    tampered = tmp_path / "tampered.tar"
    _rewrite(bundle, tampered, f"gotasks-bundle/{member}", _tamper)

    offline = machine(tmp_path / "m2", UNREACHABLE, UNREACHABLE + "/dl")
    out = project.inv("setup", "--from", str(tampered), env=offline)
    assert out.returncode == 2, out.stdout + out.stderr
    last = out.stderr.strip().splitlines()
    assert len(last) == 1 and named in last[0], out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    # Nothing installed, nothing cached (a zip's mismatch comes while the SDK unpacks: the
    # install is taken back whole); the installer's lock file may stay, as after any install.
    sdk = tmp_path / "m2" / "sdk"
    assert not [p for p in sdk.rglob("*") if p.is_file() and p.parent.name != ".locks"]
    assert not [p.name for p in sdk.iterdir() if p.name not in (".cache", ".locks")]
    assert not (project.root / ".gotasks" / "bundle").exists()
    assert not [p for p in (project.root / ".gotasks").iterdir() if "unpack" in p.name]


def _tamper(data: bytes) -> bytes:
    """A module zip that is a sound zip with one line added to errors.go (only go.sum can
    tell); any other file with its last byte flipped."""
    if data[:2] != b"PK":
        return data[:-1] + bytes([data[-1] ^ 1])
    return zip_with_a_line_added(data)


def _rewrite(source: Path, target: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for info in old.getmembers():
            handle = old.extractfile(info)
            data = handle.read() if handle else b""
            if info.name == name:
                data = change(data)
                info.size = len(data)
            new.addfile(info, _Reader(data))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


def test_ctrl_c_during_the_module_download_keeps_the_sdk_and_leaves_nothing_half_written(
    project: Project,
    module_proxy: ModuleProxy,
    releases: ReleaseServer,
    tmp_path: Path,
) -> None:
    env = machine(tmp_path / "m1", module_proxy.url, releases.base)
    module_proxy.hold = threading.Event()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "setup"],
        cwd=project.root,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not any(r.endswith(".zip") for r in module_proxy.requests):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "go never asked for the module zip"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        module_proxy.hold.set()
    assert proc.returncode == 130, out + err
    # The stage before: the SDK, whole and usable.
    sdk = tmp_path / "m1" / "sdk"
    marker = json.loads((sdk / SDK_VERSION / ".gotasks-sdk.json").read_text())
    assert marker["version"] == f"go{SDK_VERSION}"
    assert not [p.name for p in sdk.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    assert not list((sdk / ".cache").glob("*.part"))
    # The stage cut short: no module under its final name, no stamp claiming it is done.
    download = tmp_path / "m1/gopath/pkg/mod/cache/download/github.com/pkg/errors/@v"
    assert not (download / "v0.9.1.zip").exists()
    assert not (project.root / ".gotasks" / "setup" / "modules-hello.json").exists()

    module_proxy.hold = None
    again = ok(project.inv("setup", env=env))
    assert "installed from" not in again  # the SDK was kept
    # The zip now; the go.mod go had finished before the signal is reused.
    assert "modules hello" in again and "1 files (" in again
    ok(project.inv("ci", env={**env, "GOPROXY": "off"}))


def test_setup_refuses_an_export_name_that_is_not_a_tar(
    make_project: Callable[..., Project], tmp_path: Path, releases: ReleaseServer
) -> None:
    project = make_project()
    project.write(".go-version", f"{SDK_VERSION}\n")
    env = machine(tmp_path / "m1", UNREACHABLE, releases.base)
    out = project.inv("setup", "--export", str(tmp_path / "b.zip"), env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "must end in .tar" in out.stderr
    assert not (tmp_path / "b.zip").exists()
    assert os.environ  # the machine's own environment is untouched by the run
