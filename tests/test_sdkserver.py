"""The go.dev/dl stand-in itself: its index, its archives, the fake go inside, its failures."""

from __future__ import annotations

import hashlib
import http.client
import json
import platform
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers import clean_env, require_go
from sdkserver import ReleaseServer, make_go_archive, sha256_file


@pytest.fixture(autouse=True)
def _go_present() -> None:
    require_go()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body


def fetch_index(url: str) -> list[dict[str, Any]]:
    index: list[dict[str, Any]] = json.loads(fetch(url))
    return index


def extract(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "go"


def test_the_index_has_go_devs_shape_newest_first(tmp_path: Path) -> None:
    with ReleaseServer() as server:
        for version, stable in (("1.21.0", True), ("1.23rc1", False), ("1.22.5", True)):
            server.add(make_go_archive(tmp_path, version), version, stable=stable)
        arm = make_go_archive(tmp_path, "1.22.5", "linux", "arm64")
        server.add(arm, "1.22.5", "linux", "arm64")
        server.add(tmp_path / "go1.21.0.linux-amd64.tar.gz", "go1.21.0", sha256="0" * 64)
        index = fetch_index(f"{server.base}/?mode=json&include=all")
        assert fetch_index(f"{server.base}?mode=json&include=all") == index
        stable_only = fetch_index(f"{server.base}/?mode=json")

    assert [r["version"] for r in index] == ["go1.23rc1", "go1.22.5", "go1.21.0"]
    assert [r["stable"] for r in index] == [False, True, True]
    assert [r["version"] for r in stable_only] == ["go1.22.5", "go1.21.0"]
    keys = {"filename", "os", "arch", "version", "sha256", "size", "kind"}
    for release in index:
        assert set(release) == {"version", "stable", "files"}
        assert all(set(f) == keys for f in release["files"])
        kinds = [f["kind"] for f in release["files"]]
        assert kinds[0] == "source" and kinds[-1] == "installer" and "archive" in kinds
    files = {(f["filename"], f["arch"]): f for f in index[1]["files"]}
    archive = tmp_path / "go1.22.5.linux-amd64.tar.gz"
    assert files[archive.name, "amd64"]["sha256"] == sha256_file(archive)
    assert files[archive.name, "amd64"]["size"] == archive.stat().st_size
    assert files["go1.22.5.src.tar.gz", ""]["os"] == ""
    assert files["go1.22.5.darwin-amd64.pkg", "amd64"]["os"] == "darwin"
    assert files[arm.name, "arm64"]["sha256"] == sha256_file(arm)
    assert index[2]["files"][1]["sha256"] == "0" * 64  # as told, to fake a mismatch


def test_a_downloaded_sdk_answers_as_its_version_and_runs_real_go(tmp_path: Path) -> None:
    archive = make_go_archive(tmp_path / "built", "1.22.5")
    assert archive.name == "go1.22.5.linux-amd64.tar.gz"
    with ReleaseServer() as server:
        entry = server.add(archive, "1.22.5")
        data = fetch(f"{server.base}/{archive.name}")
        assert server.downloads(archive.name) == 1
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    (tmp_path / "got.tar.gz").write_bytes(data)
    with tarfile.open(tmp_path / "got.tar.gz") as tar:
        modes = {m.name: (m.mode, m.mtime) for m in tar.getmembers()}
    assert modes["go/bin/go"] == modes["go/bin"] == modes["go"] == (0o755, modes["go"][1])
    assert len({mtime for _, mtime in modes.values()}) == 1
    root = extract(tmp_path / "got.tar.gz", tmp_path / "sdk")
    assert (root / "VERSION").read_text().splitlines()[0] == "go1.22.5"

    go = str(root / "bin" / "go")
    env = clean_env(GOROOT="/not/this", GOTOOLCHAIN="local", GOENV="/tmp/my-go-env")

    def run(*args: str) -> str:
        out = subprocess.run([go, *args], env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert run("version") == "go version go1.22.5 linux/amd64\n"
    assert run("env", "GOVERSION", "GOROOT", "GOENV").splitlines() == [
        "go1.22.5",
        str(root.resolve()),
        "/tmp/my-go-env",
    ]
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    assert run("env", "GOARCH").strip() in ("amd64", machine)  # the real go answered
    log = (root / "calls.log").read_text().splitlines()
    assert len(log) == 3
    path1 = env["PATH"].split(":")[0]
    assert log[0] == f"args=version GOROOT=/not/this GOTOOLCHAIN=local PATH1={path1}"
    assert log[2].startswith("args=env GOARCH GOROOT=/not/this ")
    formatted = subprocess.run(
        [str(root / "bin" / "gofmt")], input="package x\nvar  a=1\n", capture_output=True, text=True
    )
    assert formatted.stdout == "package x\n\nvar a = 1\n"


def test_reported_version_and_zip_archives(tmp_path: Path) -> None:
    archive = make_go_archive(tmp_path, "1.22.5", reported="1.21.0")
    root = extract(archive, tmp_path / "sdk")
    out = subprocess.run(
        [str(root / "bin" / "go"), "env", "GOVERSION"], capture_output=True, text=True, check=True
    )
    assert out.stdout == "go1.21.0\n"
    zipped = make_go_archive(tmp_path, "1.22.5", "windows", "amd64", kind="zip")
    assert zipped.name == "go1.22.5.windows-amd64.zip"
    with zipfile.ZipFile(zipped) as archive_zip:
        info = archive_zip.getinfo("go/bin/go.exe")
        assert (info.external_attr >> 16) & 0o777 == 0o755
        assert "go/pkg/tool/windows_amd64/placeholder" in archive_zip.namelist()


def test_hostile_extra_members_go_in_as_they_are(tmp_path: Path) -> None:
    evil = tarfile.TarInfo("../evil")
    evil.size = 4
    link = tarfile.TarInfo("go/escape")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = make_go_archive(tmp_path, "1.22.5", extra=[(evil, b"boom"), (link, None)])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert names[-2:] == ["../evil", "go/escape"]
        assert tar.getmember("go/escape").linkname == "/etc/passwd"


def test_truncation_failures_and_a_broken_index(tmp_path: Path) -> None:
    archive = make_go_archive(tmp_path, "1.22.5")
    with ReleaseServer() as server:
        server.add(archive, "1.22.5")
        server.truncate(archive.name, 100)
        with urllib.request.urlopen(f"{server.base}/{archive.name}", timeout=5) as response:
            assert int(response.headers["Content-Length"]) == archive.stat().st_size
            with pytest.raises(http.client.IncompleteRead) as caught:
                response.read()
        assert len(caught.value.partial) == 100

        server.fail(archive.name, 503)
        for name, status in ((archive.name, 503), ("go1.22.5.src.tar.gz", 404), ("x", 404)):
            with pytest.raises(urllib.error.HTTPError) as error:
                fetch(f"{server.base}/{name}")
            assert error.value.code == status
        server.reset(archive.name)
        assert fetch(f"{server.base}/{archive.name}") == archive.read_bytes()

        server.index_status = 500
        with pytest.raises(urllib.error.HTTPError) as error:
            fetch(f"{server.base}/?mode=json&include=all")
        assert error.value.code == 500
        server.index_status, server.index_body = 200, b"[{"
        assert fetch(f"{server.base}/?mode=json&include=all") == b"[{"
        assert server.downloads(archive.name) == 3
        assert not server.errors


def test_a_slow_download_trickles_and_the_server_exits_when_the_client_leaves(
    tmp_path: Path,
) -> None:
    archive = make_go_archive(tmp_path, "1.22.5")
    start = time.monotonic()
    with ReleaseServer() as server:
        server.add(archive, "1.22.5")
        server.slow(archive.name, chunk=100, delay=0.2)
        with urllib.request.urlopen(f"{server.base}/{archive.name}", timeout=5) as response:
            assert len(response.read(100)) == 100
            first = time.monotonic()
            response.read(100)
            assert time.monotonic() - first >= 0.1
    assert time.monotonic() - start < 2
    assert not server.errors
