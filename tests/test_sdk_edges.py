"""SDK edges a new user ran into: bad roots and mirrors, the go on PATH, leftovers,
selection file quirks, a progress bar on a real terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import Project, clean_env
from sdkserver import ReleaseServer, make_go_archive

from gotasks.go.sdk.fetch import _request


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ReleaseServer]:
    with ReleaseServer() as srv:
        for version in ("1.22.4", "1.22.5"):
            srv.add(make_go_archive(tmp_path / "archives", version), version)
        yield srv


@pytest.fixture
def env(server: ReleaseServer, tmp_path: Path) -> dict[str, str]:
    return {
        "GOTASKS_SDK_ROOT": str(tmp_path / "sdk"),
        "GOTASKS_SDK_MIRROR": server.base,
        "GOPROXY": "off",
    }


def one_line(out: subprocess.CompletedProcess[str], code: int) -> str:
    shown = f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    assert out.returncode == code, shown
    assert "Traceback" not in out.stdout + out.stderr, shown
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, shown
    return lines[0]


def test_an_sdk_root_that_is_a_file(
    make_project: Callable[..., Project], env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project()
    (tmp_path / "sdk").write_text("not a folder")
    env = {**env}
    line = one_line(project.inv("sdk.install", "1.22.5", env=env), 1)
    assert "cannot write the SDK root" in line and str(tmp_path / "sdk") in line
    project.write(".go-version", "1.22.5\n")
    # --install reports its stages on stderr (stdout may be what `eval` reads): the error
    # is the last line.
    out = project.inv("lint", "--install", env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot write the SDK root" in out.stderr.strip().splitlines()[-1]
    assert one_line(project.inv("sdk.list", env=env), 2).endswith(
        "is not a folder (sdk.root, $GOTASKS_SDK_ROOT)"
    )
    assert (tmp_path / "sdk").read_text() == "not a folder"


@pytest.mark.parametrize("mirror", ["golang.google.cn/dl", "ftp://example.com/dl"])
def test_a_mirror_that_is_not_a_url(
    make_project: Callable[..., Project], env: dict[str, str], mirror: str
) -> None:
    project = make_project()
    for args in (["sdk.install", "1.22.5"], ["sdk.list", "--remote"]):
        line = one_line(project.inv(*args, env={**env, "GOTASKS_SDK_MIRROR": mirror}), 2)
        assert "$GOTASKS_SDK_MIRROR" in line and "not an http(s):// URL" in line


def test_a_mirror_with_credentials_sends_basic_auth() -> None:
    request = _request("https://bob:p%40ss@mirror.corp.example:8443/dl/?mode=json")
    assert request.full_url == "https://mirror.corp.example:8443/dl/?mode=json"
    assert request.get_header("Authorization") == "Basic Ym9iOnBAc3M="  # bob:p@ss


def test_the_go_on_path_counts_when_it_is_the_version_asked_for(
    make_project: Callable[..., Project], env: dict[str, str]
) -> None:
    project = make_project()
    goroot = subprocess.run(
        ["go", "env", "GOROOT", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.split()
    version = goroot[1].removeprefix("go")
    project.write(".go-version", f"{version}\n")
    listing = project.inv("sdk.list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert f"* go{version}" in listing.stdout and "(the go on PATH)" in listing.stdout
    exports = project.inv("sdk.env", env=env)
    assert exports.returncode == 0, exports.stderr
    assert f"export GOROOT={goroot[0]}" in exports.stdout.splitlines()


def test_sdk_env_paths_are_built_from_the_shells_own_path(
    make_project: Callable[..., Project], env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project()
    assert project.inv("sdk.use", "--install", "1.22.4", env=env).returncode == 0
    exports = project.inv("sdk.env", env=env)
    assert exports.returncode == 0, exports.stderr
    sdk = tmp_path / "sdk"
    shell = (
        f'export PATH={sdk / "1.22.4" / "bin"}:/usr/bin:/bin; eval "$1"; echo "$PATH"; go version'
    )
    out = subprocess.run(
        ["sh", "-c", shell, "sh", exports.stdout],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(PATH="/usr/bin:/bin"),
    )
    path, version = out.stdout.splitlines()[:2]
    assert path == f"{sdk / '1.22.4' / 'bin'}:/usr/bin:/bin"  # not stacked, nothing else added
    assert version.startswith("go version go1.22.4 ")


def test_leftovers_of_a_killed_install_are_cleared_by_the_next_one(
    make_project: Callable[..., Project], env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project()
    assert project.inv("sdk.install", "1.22.5", env=env).returncode == 0
    leftover = tmp_path / "sdk" / ".tmp-1.22.5-abc123"
    leftover.mkdir()
    (leftover / "half").write_text("x")
    listing = project.inv("sdk.list", env=env)
    assert "`inv sdk.install 1.22.5` clears it" in listing.stderr
    again = project.inv("sdk.install", "1.22.5", env=env)
    assert again.returncode == 0 and "already installed" in again.stdout
    assert not leftover.exists()


def test_use_names_both_ways_to_install(
    make_project: Callable[..., Project], env: dict[str, str]
) -> None:
    project = make_project()
    line = one_line(project.inv("sdk.use", "1.21", env=env), 2)
    assert "`inv sdk.install 1.21`" in line and "`inv sdk.use --install 1.21`" in line


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".go-version": "\ufeff1.22.4\r\n"}, "1.22.4"),  # a Windows editor's BOM and CRLF
        ({"go.mod": "module m\n\ngo 1.21\n\ntoolchain go1.22.4-bigcorp\n"}, "1.22.4"),
        (
            {
                "go.work": "go 1.21\n\ntoolchain default\n\nuse ./hello\n",
                "go.mod": "module m\n\ngo 1.21\n\ntoolchain go1.22.4\n",
            },
            None,  # go.work decides: no toolchain asked for, the go on PATH
        ),
    ],
)
def test_selection_files_read_as_go_reads_them(
    make_project: Callable[..., Project],
    env: dict[str, str],
    files: dict[str, str],
    expected: str | None,
) -> None:
    project = make_project()
    assert project.inv("sdk.install", "1.22.4", env=env).returncode == 0
    for name, text in files.items():
        (project.root / name).write_text(text, encoding="utf-8", newline="")
    out = project.inv("sdk.list", env=env)
    assert out.returncode == 0, out.stderr
    if expected is None:
        assert "asks for no version" in out.stdout
    else:
        assert f"* go{expected}" in out.stdout


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ("sdk:\n  sources: []\n", "sdk.sources: the list is empty"),
        ("sdk:\n  os: plan10\n", "sdk.os: 'plan10' is not a GOOS"),
        ("sdk:\n  arch: sparc\n", "sdk.arch: 'sparc' is not a GOARCH"),
    ],
)
def test_sdk_config_mistakes(
    make_project: Callable[..., Project], env: dict[str, str], config: str, says: str
) -> None:
    project = make_project()
    project.write("config/dev.yaml", (project.root / "config/dev.yaml").read_text() + config)
    line = one_line(project.inv("sdk.install", "1.22.5", env=env), 2)
    assert says in line and "config/dev.yaml:" in line


def test_machine_names_mean_what_go_calls_them(
    make_project: Callable[..., Project], env: dict[str, str]
) -> None:
    project = make_project()
    project.write(
        "config/dev.yaml",
        (project.root / "config/dev.yaml").read_text() + "sdk:\n  arch: x86_64\n",
    )
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the fake archives are linux/amd64")
    out = project.inv("sdk.install", "1.22.5", env=env)
    assert out.returncode == 0, out.stderr


def test_progress_bar_on_a_terminal(
    make_project: Callable[..., Project], env: dict[str, str], server: ReleaseServer, tmp_path: Path
) -> None:
    project = make_project()
    big = make_go_archive(tmp_path / "big", "1.22.6", extra=None)
    server.add(big, "1.22.6")
    server.slow(big.name, chunk=512, delay=0.05)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "sdk.install", "1.22.6"],
        cwd=project.root,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(controller)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert "download go1.22.6.linux-amd64.tar.gz" in text and "B/s" in text and "ETA" in text


def test_mirror_credentials_do_not_follow_a_redirect(tmp_path: Path) -> None:
    """A mirror that redirects to a CDN: the CDN must not get the password."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: dict[str, str | None] = {}

    class Cdn(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["cdn"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    cdn = ThreadingHTTPServer(("127.0.0.1", 0), Cdn)

    class Mirror(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["mirror"] = self.headers.get("Authorization")
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{cdn.server_address[1]}/index")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    mirror = ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    for server in (cdn, mirror):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from gotasks.go.sdk.fetch import fetch_json

        url = f"http://bob:s3cret@127.0.0.1:{mirror.server_address[1]}/dl/?mode=json"
        assert fetch_json(url, 10) == []
    finally:
        for server in (cdn, mirror):
            server.shutdown()
    assert seen["mirror"] == "Basic Ym9iOnMzY3JldA=="
    assert seen["cdn"] is None


def test_another_platforms_sdk_is_never_taken_for_this_machines(
    make_project: Callable[..., Project], env: dict[str, str], server: ReleaseServer, tmp_path: Path
) -> None:
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the fake archives are linux/amd64")
    project = make_project()
    server.add(
        make_go_archive(tmp_path / "mac", "1.22.5", "darwin", "arm64"), "1.22.5", "darwin", "arm64"
    )
    dev = project.root / "config/dev.yaml"
    plain = dev.read_text()
    dev.write_text(plain + "sdk:\n  os: darwin\n  arch: arm64\n")
    mac = project.inv("sdk.install", "1.22.5", env=env)
    assert mac.returncode == 0, mac.stdout + mac.stderr
    assert "smoke-test" in mac.stdout and "skipped" in mac.stdout
    assert (tmp_path / "sdk" / "1.22.5-darwin-arm64" / "bin" / "go").is_file()
    dev.write_text(plain)
    project.write(".go-version", "1.22.5\n")
    missing = project.inv("lint", env=env)
    assert missing.returncode == 2 and "inv sdk.install 1.22.5" in missing.stderr
    native = project.inv("sdk.install", "1.22.5", env=env)
    assert native.returncode == 0 and "already installed" not in native.stdout
    assert (tmp_path / "sdk" / "1.22.5" / "bin" / "go").is_file()


def test_sdk_env_drops_only_its_own_path_entries(
    make_project: Callable[..., Project], env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project()
    assert project.inv("sdk.use", "--install", "1.22.5", env=env).returncode == 0
    exports = project.inv("sdk.env", env=env).stdout
    sdk = tmp_path / "sdk"
    bin_dir = sdk / "1.22.5" / "bin"
    before = f"/opt/x{bin_dir}:{sdk}x/bin:{sdk / '1.22.4' / 'bin'}:/usr/bin:/bin"
    out = subprocess.run(
        ["sh", "-c", 'eval "$1"; printf %s "$PATH"', "sh", exports],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(PATH=before),
    )
    # Substrings of ours stay; an earlier SDK's bin goes; nothing empty (the current folder).
    assert out.stdout == f"{bin_dir}:/opt/x{bin_dir}:{sdk}x/bin:/usr/bin:/bin"
    empty = subprocess.run(
        ["sh", "-c", 'PATH=; eval "$1"; printf %s "$PATH"', "sh", exports],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert empty.stdout == str(bin_dir)
