"""Which go a run uses: --go, $GOTASKS_GO, .go-version, go.mod's toolchain, go.version, PATH;
every Go subprocess gets that SDK's GOROOT, its bin/ first on PATH and GOTOOLCHAIN=local."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import Project
from sdkserver import ReleaseServer, make_go_archive

VERSIONS = ("1.22.4", "1.22.5", "1.21.3")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ReleaseServer]:
    with ReleaseServer() as srv:
        for version in VERSIONS:
            srv.add(make_go_archive(tmp_path / "archives", version), version)
        yield srv


def sdk_env(root: Path, server: ReleaseServer, **extra: str) -> dict[str, str]:
    return {
        "GOTASKS_SDK_ROOT": str(root),
        "GOTASKS_SDK_MIRROR": server.base,
        "GOPROXY": "off",  # the module proxy source must not reach out in these tests
        **extra,
    }


def calls(sdk: Path) -> list[str]:
    log = sdk / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def installed(
    make_project: Callable[..., Project], server: ReleaseServer, tmp_path: Path
) -> tuple[Project, dict[str, str], Path]:
    """A project and an SDK root holding fake go1.22.4 and go1.22.5."""
    project = make_project()
    env = sdk_env(tmp_path / "sdk", server)
    for version in ("1.22.4", "1.22.5"):
        out = project.inv("sdk.install", version, env=env)
        assert out.returncode == 0, out.stderr
        (tmp_path / "sdk" / version / "calls.log").unlink()  # the install's smoke test
    return project, env, tmp_path / "sdk"


def test_go_version_file_selects_the_sdk_for_every_go_subprocess(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, root = installed
    project.write(".go-version", "1.22.5\n")
    out = project.inv("test", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[dev, go1.22.5]" in out.stdout
    sdk = root / "1.22.5"
    test_calls = [line for line in calls(sdk) if line.startswith("args=test ")]
    assert test_calls, calls(sdk)
    for line in test_calls:
        assert f"GOROOT={sdk} " in line
        assert "GOTOOLCHAIN=local " in line
        assert line.endswith(f"PATH1={sdk / 'bin'}")
    assert not calls(root / "1.22.4")  # the other SDK was never run


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("flag", "1.22.4"),  # --go beats $GOTASKS_GO, .go-version and go.mod
        ("environ", "1.22.4"),  # $GOTASKS_GO beats .go-version
        ("file", "1.22.5"),  # .go-version beats go.mod's toolchain line
        ("gomod", "1.22.4"),  # go.mod's toolchain line beats go.version
        ("config", "1.22.5"),  # go.version: a line means its newest installed patch
    ],
)
def test_selection_order(
    installed: tuple[Project, dict[str, str], Path], how: str, expected: str
) -> None:
    project, env, _ = installed
    args = ["env"]
    project.write("config/dev.yaml", "go:\n  version: '1.22'\n")
    if how in ("flag", "environ", "file", "gomod"):
        project.write("go.mod", "module example.com/root\n\ngo 1.21\n\ntoolchain go1.22.4\n")
    if how in ("flag", "environ", "file"):
        project.write(".go-version", "1.22.5\n")
    if how in ("flag", "environ"):
        env = {**env, "GOTASKS_GO": "1.22.5" if how == "flag" else "1.22.4"}
    if how == "flag":
        args += ["--go", "1.22.4"]
    out = project.inv(*args, env=env)
    assert out.returncode == 0, out.stderr
    log = calls(project.root.parent / "sdk" / expected)
    assert any(line.startswith("args=env GOVERSION") for line in log), (how, log)


def test_missing_version_names_the_install_command(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, _ = installed
    project.write(".go-version", "1.21.3\n")
    out = project.inv("lint", env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "Go 1.21.3" in out.stderr and ".go-version:1" in out.stderr
    assert "inv sdk.install 1.21.3" in out.stderr


def test_install_flag_installs_on_the_spot(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, root = installed
    project.write(".go-version", "1.21.3\n")
    out = project.inv("env", "--install", env=env)
    assert out.returncode == 0, out.stderr
    assert "activate" in out.stderr  # stdout stays what `eval` reads
    assert all(line.startswith(("export ", "#")) for line in out.stdout.splitlines())
    assert (root / "1.21.3" / ".gotasks-sdk.json").is_file()
    assert any(line.startswith("args=env") for line in calls(root / "1.21.3"))


def test_bad_go_version_file_is_one_line_with_file_and_line(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, _ = installed
    project.write(".go-version", "# pinned\n../1.22\n")
    out = project.inv("lint", env=env)
    assert out.returncode == 2
    assert ".go-version:2: not a Go version" in out.stderr
    assert "Traceback" not in out.stderr


def test_path_go_is_used_when_it_is_the_version_asked_for(
    make_project: Callable[..., Project], server: ReleaseServer, tmp_path: Path
) -> None:
    project = make_project()
    real = project.inv("env", env=sdk_env(tmp_path / "sdk", server))
    assert real.returncode == 0
    out = project.inv("test", env=sdk_env(tmp_path / "sdk", server))
    version = out.stdout.split("[dev, go", 1)[1].split("]", 1)[0]
    project.write(".go-version", f"{version}\n")
    again = project.inv("test", env=sdk_env(tmp_path / "sdk", server))
    assert again.returncode == 0, again.stderr
    assert f"[dev, go{version}]" in again.stdout


def test_use_writes_go_version_and_env_prints_exports(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, root = installed
    out = project.inv("sdk.use", "1.22", env=env)
    assert out.returncode == 0, out.stderr
    assert (project.root / ".go-version").read_text() == "1.22.5\n"
    listing = project.inv("sdk.list", env=env)
    assert f"* go1.22.5       {root / '1.22.5'}" in listing.stdout
    exports = project.inv(
        "sdk.env", "--gopath", env={**env, "PATH": f"{root / '1.22.4' / 'bin'}:/usr/bin:/bin"}
    )
    assert exports.returncode == 0, exports.stderr
    lines = exports.stdout.splitlines()
    assert f"export GOROOT={root / '1.22.5'}" in lines
    assert "export GOTOOLCHAIN=local" in lines
    assert f"export GOPATH={project.root / '.gotasks' / 'gopath'}" in lines
    path_line = next(line for line in lines if line.startswith("export PATH="))
    # The SDK's bin first, the earlier SDK's bin gone: switching never stacks.
    assert path_line.startswith(f"export PATH={root / '1.22.5' / 'bin'}:")
    assert str(root / "1.22.4") not in path_line
    missing = project.inv("sdk.use", "1.21", env=env)
    assert missing.returncode == 2
    assert "inv sdk.install 1.21" in missing.stderr


def test_sdk_tasks_need_no_go_on_path(
    make_project: Callable[..., Project], server: ReleaseServer, tmp_path: Path
) -> None:
    project = make_project()
    python_dir = str(Path(shutil.which("python3") or "/usr/bin/python3").parent)
    no_go = os.pathsep.join([python_dir, "/usr/bin", "/bin"])
    assert shutil.which("go", path=no_go) is None
    env = sdk_env(tmp_path / "sdk", server, PATH=no_go)
    out = project.inv("sdk.install", "1.22", env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sdk" / "1.22.5" / "bin" / "go").is_file()
    # A task that needs go says so in one line.
    lint = project.inv("lint", env=env)
    assert lint.returncode == 2
    assert "go: not found on PATH" in lint.stderr
    # ... until the project selects the installed one.
    project.write(".go-version", "1.22.5\n")
    env_out = project.inv("env", env=env)
    assert env_out.returncode == 0, env_out.stderr


def test_list_remote_shows_lines_newest_first_and_marks_installed(
    installed: tuple[Project, dict[str, str], Path],
) -> None:
    project, env, _ = installed
    out = project.inv("sdk.list", "--remote", env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Go releases for linux/amd64 from index http://127.0.0.1:")
    assert lines[1].split() == ["1.22", "1.22.5*", "1.22.4*"]
    assert lines[2].split() == ["1.21", "1.21.3"]


def test_progress_bar_on_a_terminal_only() -> None:
    from gotasks.go.sdk.progress import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar(screen, "download go.tar.gz")
    bar(5_000_000, 10_000_000)
    bar(10_000_000, 10_000_000)
    bar.close()
    text = screen.getvalue()
    assert "10.0/10.0 MB" in text and "B/s" in text and "ETA" in text
    assert "[" + "#" * 24 + "]" in text
    pipe = io.StringIO()
    ProgressBar(pipe, "x")(1, 2)
    assert pipe.getvalue() == ""
