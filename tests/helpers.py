"""What the tests share: this checkout's paths, a clean environment for spawned `inv` and
git, throwaway projects and repositories, and checks on what a run left behind (processes,
files). Imported as `helpers` (tests/ is on sys.path); fixtures stay in conftest.py."""

from __future__ import annotations

import atexit
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from gotasks import adoptplan

SOURCE = Path(__file__).resolve().parents[1]


EXAMPLE = SOURCE / "examples" / "hello"
# A Go module proxy's files on disk (the modules some tests depend on), and the go.sum
# lines of those modules as go.sum files and sum.golang.org record them.
GOPROXY_DATA = Path(__file__).resolve().parent / "data" / "goproxy"
REAL_GO_SUM = """\
github.com/mattn/go-isatty v0.0.24 h1:tGZZoVgT/KiqK1c8ocVLeDS8BSWMRd47J3Lbz7vsReI=
github.com/mattn/go-isatty v0.0.24/go.mod h1:nMCL3Zebbrt45jsMDgnfIwz6ydEQApk5oEI3HqDio6A=
github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=
github.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=
"""


# Runs of gotasks on one machine share its CPUs and memory through lease files; the tests'
# runs share only among themselves, not with whatever else runs on this machine (another
# checkout's test suite, a developer's `inv ci`), so that what they measure is their own.
LEASE_DIR = tempfile.mkdtemp(prefix="gotasks-test-leases-")


atexit.register(shutil.rmtree, LEASE_DIR, True)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would pick an env or a root for us."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GOTASKS_") and k not in ("CI", "GITHUB_ACTIONS")
    }
    # GOENV=off: the machine's `go env -w` file must not leak into what tests expect.
    env.update({"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1", "GOENV": "off"})
    env["GOTASKS_LEASE_DIR"] = LEASE_DIR
    # Every run does its work, as each test expects of the runs it makes (a second `inv
    # build` that builds, a killed one's successor): up-to-date skipping is off unless a test
    # turns it on (GOTASKS_FORCE="", as tests/test_fresh_e2e.py does for every run).
    env["GOTASKS_FORCE"] = "1"
    # The gotasks of this checkout, whichever one the active Python has installed: a second
    # worktree's tests must run its own code in the projects they spawn.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH", "")])]
    )
    env.update(extra)
    return env


@dataclass
class Project:
    root: Path

    def inv(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=cwd or self.root,
            env=clean_env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=clean_env(
                GIT_AUTHOR_NAME="T",
                GIT_AUTHOR_EMAIL="t@example.com",
                GIT_COMMITTER_NAME="T",
                GIT_COMMITTER_EMAIL="t@example.com",
                **(env or {}),
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def commit_all(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tree_snapshot(self) -> dict[str, bytes]:
        """Every file under the root except .git and gotasks' own run history (.gotasks/):
        to prove a failed run changed nothing of the user's."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
            and not {".git", ".gotasks"} & set(p.relative_to(self.root).parts)
            and "__pycache__" not in p.parts
        }


def sums_check(dist: Path) -> None:
    """dist/SHA256SUMS matches every file it lists, as `sha256sum -c` checks it."""
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=dist,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def require_go() -> None:
    if shutil.which("go") is None:
        pytest.fail("go is not on PATH: gotasks' tests run the real go")


# A small, dependency-free library (no main package) that the Go module proxy serves.
MODULE, VERSION = "github.com/google/uuid", "v1.6.0"


GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}


def module_from_cache(scratch: Path) -> Path:
    """MODULE@VERSION's folder in the Go module cache (downloaded if need be): read-only."""
    scratch.mkdir(exist_ok=True)  # outside any module, so go.mod files around do not matter
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"],
        cwd=scratch,
        env=clean_env(**GO_ENV),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        info = json.loads(out.stdout)
    except json.JSONDecodeError:
        info = {}
    problem = info.get("Error") or (out.stderr.strip() if out.returncode else "")
    if problem or not info.get("Dir"):
        why = problem or "no Dir in go mod download's answer"
        if os.environ.get("CI"):
            pytest.fail(f"CI must reach the Go module proxy: {why}")
        pytest.skip(
            f"{MODULE}@{VERSION} is not in the module cache and the proxy did not serve it: {why}"
        )
    return Path(info["Dir"])


def user_repo(
    root: Path, files: dict[str, str] | None = None, origin: Path | None = None
) -> Project:
    """A fresh git repository with one commit: a copy of `origin` (made writable: the module
    cache's files are read-only), or a go.mod, plus `files`."""
    if origin is not None:
        shutil.copytree(origin, root)
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    else:
        root.mkdir()
        (root / "go.mod").write_text("module example.com/mine\n\ngo 1.21\n")
    repo = Project(root)
    for rel, text in (files or {}).items():
        repo.write(rel, text)
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("the user's repository")
    return repo


def statuses(stdout: str) -> dict[str, str]:
    """task -> ok/FAIL/skip from the run's summary table."""
    table = stdout.split("\nsummary\n", 1)[1].split("critical path", 1)[0]
    return {words[0]: words[1] for words in map(str.split, table.splitlines()[1:]) if words}


def without_golangci_lint() -> str:
    """PATH less the folders of a developer's golangci-lint: its verdict on a third-party
    module's code is not what these tests are about (lint runs it only when on PATH)."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(
        d for d in folders if not (Path(d, "golangci-lint").exists() and not Path(d, "go").exists())
    )


@dataclass
class Installed:
    """gotasks built into a wheel and pip-installed, with its dependencies, into a venv of its
    own: what a user gets, with none of this checkout on sys.path."""

    wheel: Path
    venv: Path

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def env(self, **extra: str) -> dict[str, str]:
        """clean_env without this checkout on PYTHONPATH, the venv's bin/ first on PATH."""
        env = clean_env(**extra)
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        if "PATH" not in extra:
            env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")])
        return env

    def run(self, *args: str | Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


MARK = "SIGNAL_TEST_MARK"  # not GOTASKS_*: clean_env would drop it


def marked(mark: str) -> list[psutil.Process]:
    """Every live process carrying `mark` in its environment: all the run started."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.environ().get(MARK) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def describe(procs: list[psutil.Process]) -> str:
    lines = []
    for proc in procs:
        try:
            lines.append(f"{proc.pid} {' '.join(proc.cmdline())}")
        except psutil.Error:
            lines.append(f"{proc.pid} (gone)")
    return "\n".join(lines)


def left_behind(mark: str) -> list[psutil.Process]:
    """The run's processes still running, less its watcher (core/reaper.py: it may still be
    finishing its own sweep). Each process's command line is read first, in the same look:
    an exiting process has none (nor an environment) from the moment its memory is gone,
    while psutil may still call it running, and a zombie until PID 1 reaps it (this
    machine's init takes its time). Read in two looks (the environment, then the command
    line), a watcher that ended in between looked like a process left behind: the signal
    tests failed so twice in one CI run, and once more in 6 runs of them."""
    left = []
    for proc in psutil.process_iter():
        try:
            cmdline = proc.cmdline()
            if not cmdline or any(part.endswith("watcher.py") for part in cmdline):
                continue
            if proc.environ().get(MARK) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return left


def wait_until_gone(mark: str, seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    left = marked(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = marked(mark)
    return left


def handles_stop_signals(pid: int) -> bool:
    """gotasks has taken SIGTERM over in `pid` (Python alone only catches SIGINT): from
    here on, every signal must end the run with 130."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


@contextmanager
def reaped(run: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """`run`, killed and waited for on the way out if it is still running: a failed
    assertion in the block leaves no process behind."""
    try:
        yield run
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


def wait_for(condition: Callable[[], bool], run: subprocess.Popen[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and run.poll() is None:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def adopt(root: Path) -> None:
    """Put gotasks into `root` as `inv init` does (its own tasks.py and invoke.yaml, its
    .gitignore lines), but with this repository's config/ (the example's settings, which the
    tests expect) and without the optional files: the tests that want a Dockerfile or a
    pre-commit config add them, and some need to start without."""
    for rel in ("tasks.py", "invoke.yaml"):
        (root / rel).write_bytes(adoptplan.template_text(rel))
    shutil.copytree(SOURCE / "config", root / "config")
    (root / ".gitignore").write_text("".join(line + "\n" for line in adoptplan.GITIGNORE_LINES))


def zip_with_a_line_added(data: bytes) -> bytes:
    """A module zip still sound as a zip, with one line added to errors.go: only go.sum
    can tell it was tampered with."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            content = old.read(info)
            if info.filename.endswith("/errors.go"):
                content += b'\nfunc init() { println("owned") }\n'
            new.writestr(info, content)
    return out.getvalue()
