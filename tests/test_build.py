"""`inv build` and `inv ci` end to end: real go, real git, the adopted project in a temp dir."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
import pytest
from helpers import Project, clean_env, require_go, sums_check

from gotasks.core import owners

MakeProject = Callable[..., Project]


@pytest.fixture(autouse=True)
def _go_present() -> None:
    require_go()


def host_target() -> str:
    out = subprocess.run(
        ["go", "env", "GOOS", "GOARCH"], capture_output=True, text=True, check=True
    ).stdout.split()
    return f"{out[0]}/{out[1]}"


def go_version() -> str:
    return subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()


def set_targets(project: Project, targets: list[str]) -> None:
    base = project.root / "config" / "base.yaml"
    text, count = re.subn(
        r"(?m)^  targets: .*$", f"  targets: [{', '.join(targets)}]", base.read_text()
    )
    assert count == 1, "config/base.yaml has no build.targets line to replace"
    base.write_text(text)


def adopted(make_project: MakeProject, targets: list[str] | None = None, **kw: bool) -> Project:
    """The example project with its build matrix cut down (committed, so the tree is clean)."""
    project = make_project(**kw)
    set_targets(project, targets or [host_target()])
    project.commit_all("build only what the test needs")
    return project


def folder(target: str, module: str = "hello") -> str:
    return f"{module}_{target.replace('/', '_')}"


def host_binary(project: Project, module: str = "hello") -> Path:
    return project.root / "dist" / folder(host_target(), module) / module


def version_of(binary: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def dist_files(project: Project) -> dict[str, bytes]:
    dist = project.root / "dist"
    return {
        str(p.relative_to(dist)): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()
    }


def headers(stdout: str) -> list[str]:
    return [line[4:] for line in stdout.splitlines() if line.startswith("==> ")]


def first_header(stdout: str, task: str) -> int:
    found = [i for i, h in enumerate(headers(stdout)) if h.split()[0] == task]
    assert found, f"no `==> {task}` header in:\n{stdout}"
    return found[0]


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def describe(project: Project) -> str:
    return project.git("describe", "--tags", "--always", "--dirty", "--abbrev=12")


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"


# 1
def test_ci_on_the_example_lints_tests_and_builds(make_project: MakeProject) -> None:
    project = adopted(make_project)
    result = ok(project.inv("ci"))
    shown = headers(result.stdout)
    for task in ("lint", "test", "build"):
        assert any(h.startswith(f"{task} hello") for h in shown), result.stdout
    binary = host_binary(project)
    assert binary.is_file()
    assert version_of(binary)["edition"] == "default"


TOOL_MAIN = """\
// Command tool prints its build information with `tool version`.
package main

import (
	"fmt"
	"os"
)

// Set by the linker with -X.
var version, commit, commitDate, dirty, goVersion string

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Print(versionText())
		return
	}
	fmt.Println("tool: try `tool version`")
}

func versionText() string {
	return fmt.Sprintf("version: %s\\ncommit: %s\\ncommit date: %s\\ndirty: %s\\ngo: %s\\n",
		version, commit, commitDate, dirty, goVersion)
}
"""

TOOL_TEST = """\
package main

import (
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	version = "v9"
	if got := versionText(); !strings.HasPrefix(got, "version: v9\\n") {
		t.Fatalf("versionText() = %q", got)
	}
}
"""


# 2
def test_ci_on_a_module_made_from_scratch(make_project: MakeProject) -> None:
    project = make_project(example=False)
    set_targets(project, [host_target()])
    project.write("go.mod", "module example.com/tool\n\ngo 1.21\n")
    project.write("main.go", TOOL_MAIN)
    project.write("main_test.go", TOOL_TEST)
    head = project.commit_all("a tool")
    result = ok(project.inv("ci"))
    assert "example.com/tool" in result.stdout
    binary = host_binary(project, "tool")
    assert binary.is_file()
    shown = version_of(binary)
    assert shown["commit"] == head
    assert shown["dirty"] == "false"
    assert shown["go"] == go_version()


# 3
def test_binary_reports_git_and_toolchain_data(make_project: MakeProject) -> None:
    project = adopted(make_project)
    # Author and committer dates differ, and neither is now nor in UTC.
    project.write("hello/README.md", "changed\n")
    project.git("add", "-A")
    project.git(
        "commit",
        "-q",
        "-m",
        "dated",
        env={
            "GIT_AUTHOR_DATE": "1999-12-31T23:59:59+01:00",
            "GIT_COMMITTER_DATE": "2001-02-03T04:05:06+05:30",
        },
    )
    ok(project.inv("build"))
    shown = version_of(host_binary(project))
    assert shown["commit"] == project.git("rev-parse", "HEAD")
    committed = datetime.fromisoformat(project.git("show", "-s", "--format=%cI", "HEAD"))
    assert datetime.fromisoformat(shown["commit date"]) == committed
    assert shown["commit date"] == "2001-02-02T22:35:06Z"  # RFC 3339 in UTC
    assert shown["go"] == go_version()
    assert shown["dirty"] == "false"
    assert shown["version"] == describe(project)

    project.git("tag", "v1.2.3")
    ok(project.inv("build"))
    assert version_of(host_binary(project))["version"] == "v1.2.3"


# 4
def test_uncommitted_changes_mark_the_build_dirty(make_project: MakeProject) -> None:
    project = adopted(make_project)
    clean = describe(project)

    readme = project.root / "hello" / "README.md"
    readme.write_text(readme.read_text() + "\nan uncommitted line\n")
    ok(project.inv("build"))
    shown = version_of(host_binary(project))
    assert shown["dirty"] == "true"
    assert shown["version"] == f"{clean}-dirty" == describe(project)

    project.git("checkout", "--", "hello/README.md")
    project.write("hello/notes.txt", "untracked\n")
    ok(project.inv("build"))
    shown = version_of(host_binary(project))
    assert shown["dirty"] == "true"
    # git describe ignores untracked files; the version still agrees with the dirty flag
    assert shown["version"] == f"{clean}-dirty"


# 5
def test_builds_at_one_commit_are_identical_and_checksummed(make_project: MakeProject) -> None:
    project = adopted(make_project)
    ok(project.inv("build"))
    first = dist_files(project)
    assert "SHA256SUMS" in first
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=project.root / "dist",
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{folder(host_target())}/hello: OK" in check.stdout
    # published checksums are readable by everyone, like the binaries beside them
    assert (project.root / "dist" / "SHA256SUMS").stat().st_mode & 0o044 == 0o044

    time.sleep(1.1)  # a build that stamped the clock would differ now
    ok(project.inv("build"))
    assert dist_files(project) == first


# 6
def test_verify_proves_the_build_reproducible(make_project: MakeProject) -> None:
    project = adopted(make_project)
    result = ok(project.inv("build", "--verify"))
    assert "reproducible" in result.stdout
    assert host_binary(project).is_file()
    assert not [p for p in (project.root / "dist").iterdir() if p.name.startswith(".")]


# 7
def test_matrix_builds_every_target(make_project: MakeProject) -> None:
    project = adopted(make_project, ["linux/amd64", "windows/amd64"])
    ok(project.inv("build"))
    dist = project.root / "dist"
    linux = dist / "hello_linux_amd64" / "hello"
    windows = dist / "hello_windows_amd64" / "hello.exe"
    assert linux.read_bytes().startswith(b"\x7fELF")
    assert windows.read_bytes().startswith(b"MZ")
    sums = {}
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert sums == {
        "hello_linux_amd64/hello": hashlib.sha256(linux.read_bytes()).hexdigest(),
        "hello_windows_amd64/hello.exe": hashlib.sha256(windows.read_bytes()).hexdigest(),
    }


# 8
def test_env_selects_the_build_tags(make_project: MakeProject) -> None:
    project = adopted(make_project)
    ok(project.inv("build", "--env=prod"))
    assert version_of(host_binary(project))["edition"] == "prod"
    ok(project.inv("build", "--env=dev"))
    assert version_of(host_binary(project))["edition"] == "default"


def built_literally_or_refused(
    result: subprocess.CompletedProcess[str], binary: Path, key: str, expected: str
) -> None:
    if result.returncode == 0:
        assert version_of(binary)[key] == expected
    else:
        assert_one_line_error(result, 2)


# 9
def test_shell_metacharacters_are_never_executed(make_project: MakeProject, tmp_path: Path) -> None:
    project = adopted(make_project)
    binary = host_binary(project)
    project.write(
        "config/dev.yaml",
        (project.root / "config" / "dev.yaml").read_text()
        + '\nbuild:\n  ldflags: ["-X", "main.commit=a b;$(touch pwned3)"]\n',
    )
    project.write("hello/README.md", "one\n")
    project.commit_all('$(touch pwned2); echo "hi"')
    tags = [
        "v1;$(touch${IFS}pwned1)'x",  # one kind of quote: go's own quoting can carry it
        "v2'\"x;$(touch${IFS}pwned4)",  # both kinds: no -ldflags quoting can carry it
        'v3;`touch${IFS}pwned5`"x',
    ]
    for i, tag in enumerate(tags):
        if i:
            project.write("hello/README.md", f"{i}\n")
            project.commit_all(f"release {i}")
        subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"], check=True)
        project.git("tag", tag)
        result = project.inv("build")
        built_literally_or_refused(result, binary, "version", tag)
        if result.returncode == 0:
            assert version_of(binary)["commit"] == "a b;$(touch pwned3)"  # the last -X wins
    assert version_of(binary)["commit"] == "a b;$(touch pwned3)", "nothing was ever built"
    assert project.git("log", "-1", "--format=%s", "HEAD~2") == '$(touch pwned2); echo "hi"'
    pwned = [*tmp_path.rglob("pwned*"), *Path.cwd().glob("pwned*")]
    assert pwned == []


# 10
def test_a_failed_build_leaves_dist_as_it_was(make_project: MakeProject) -> None:
    project = adopted(make_project)
    ok(project.inv("build"))
    before = dist_files(project)
    main = project.root / "hello" / "cmd" / "hello" / "main.go"
    main.write_text(main.read_text() + "\nfunc {\n")
    result = project.inv("build")
    assert_one_line_error(result, 1)
    assert dist_files(project) == before
    assert not [p for p in (project.root / "dist").iterdir() if p.name.startswith(".build-")]


CLEAN_ONLY_WITH_PROD = {
    # Without the prod tag, vet fails (printf verb) and a test fails: both must see prod.
    "hello/greet/notprod.go": (
        '//go:build !prod\n\npackage greet\n\nimport "fmt"\n\n'
        'func notProd() string { return fmt.Sprintf("%d", "x") }\n'
    ),
    "hello/greet/notprod_test.go": (
        '//go:build !prod\n\npackage greet\n\nimport "testing"\n\n'
        'func TestBuiltWithProd(t *testing.T) { t.Fatal("run without the prod tag") }\n'
    ),
}


# 11
def test_ci_runs_its_graph_with_the_selected_env(make_project: MakeProject) -> None:
    project = adopted(make_project)
    for rel, text in CLEAN_ONLY_WITH_PROD.items():
        project.write(rel, text)
    project.commit_all("code that only the prod tag keeps clean")

    result = ok(project.inv("ci", "--env=prod"))
    lint, test, build = (first_header(result.stdout, t) for t in ("lint", "test", "build"))
    # lint, test and build may run in any order or side by side; ci's own body comes last
    assert max(lint, test, build) < first_header(result.stdout, "ci:")
    assert version_of(host_binary(project))["edition"] == "prod"

    # The same tree under dev fails in lint: so prod above did reach the pre tasks.
    shutil.rmtree(project.root / "dist")
    dev = project.inv("ci")
    assert_one_line_error(dev, 1)
    # lint (vet) and test both fail under dev; whichever ends first stops the run
    assert "vet" in dev.stderr or "test hello" in dev.stderr
    assert "ci:" not in [h.split()[0] for h in headers(dev.stdout)]


# 12
def test_a_lint_failure_fails_ci_and_skips_what_depends_on_it(make_project: MakeProject) -> None:
    project = adopted(make_project)
    project.write("hello/greet/ugly.go", "package greet\nfunc  Ugly( ) {}\n")
    result = project.inv("ci")
    assert_one_line_error(result, 1)
    assert "gofmt" in result.stderr
    assert "ci:" not in [h.split()[0] for h in headers(result.stdout)]
    summary = result.stdout.split("summary", 1)[1]
    assert re.search(r"^\s+ci\s+skip", summary, re.MULTILINE), summary


# 13
def test_modules_sharing_a_last_path_element_keep_apart_artifacts(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False)
    set_targets(project, [host_target()])
    for rel, path, binary in (
        ("api", "github.com/acme/api", "apid"),
        ("tools/api", "github.com/acme/tools/api", "apictl"),
    ):
        project.write(f"{rel}/go.mod", f"module {path}\n\ngo 1.21\n")
        project.write(f"{rel}/cmd/{binary}/main.go", "package main\n\nfunc main() {}\n")
    project.commit_all("two api modules")
    ok(project.inv("build"))
    dist = project.root / "dist"
    target = host_target().replace("/", "_")
    assert (dist / f"github.com_acme_api_{target}" / "apid").is_file()
    assert (dist / f"github.com_acme_tools_api_{target}" / "apictl").is_file()
    sums = (dist / "SHA256SUMS").read_text()
    assert "apid" in sums and "apictl" in sums


# 14
def test_build_packages_are_patterns_named_as_go_names_them(make_project: MakeProject) -> None:
    project = make_project(example=False)
    set_targets(project, [host_target()])
    project.write("go.mod", "module example.com/tool/v2\n\ngo 1.21\n")
    project.write("main.go", "package main\n\nfunc main() {}\n")
    project.write("cmd/helper/main.go", "package main\n\nfunc main() {}\n")
    project.commit_all("a v2 module with two binaries")
    target = host_target().replace("/", "_")

    project.write(
        "config/dev.yaml",
        project.root.joinpath("config/dev.yaml").read_text() + "build:\n  packages: [.]\n",
    )
    ok(project.inv("build"))
    folder = project.root / "dist" / f"tool_{target}"  # /v2 is not the name, as in go build
    assert sorted(p.name for p in folder.iterdir()) == ["tool"]

    project.write("config/dev.yaml", "go:\n  tags: [dev]\nbuild:\n  packages: [./cmd/...]\n")
    ok(project.inv("build"))
    assert sorted(p.name for p in folder.iterdir()) == ["helper"]
    sums = (project.root / "dist" / "SHA256SUMS").read_text()
    assert f"tool_{target}/helper" in sums


def test_main_packages_with_one_name_are_refused(make_project: MakeProject) -> None:
    project = make_project(example=False)
    set_targets(project, [host_target()])
    project.write("go.mod", "module example.com/two\n\ngo 1.21\n")
    for rel in ("cmd/hello", "tools/hello"):
        project.write(f"{rel}/main.go", "package main\n\nfunc main() {}\n")
    project.commit_all("two mains named hello")
    result = project.inv("build")
    assert_one_line_error(result, 2)
    assert "cmd/hello" in result.stderr and "tools/hello" in result.stderr


def test_checksums_ignore_a_killed_builds_scratch_folder(make_project: MakeProject) -> None:
    project = adopted(make_project)
    leftover = project.root / "dist" / ".build-killed" / folder(host_target())
    leftover.mkdir(parents=True)
    (leftover / "hello").write_bytes(b"half a binary")
    ok(project.inv("build"))
    assert ".build-killed" not in (project.root / "dist" / "SHA256SUMS").read_text()


# --- kills: dist/ holds the whole previous build or the whole new one

KILL_HOOK = "GOTASKS_TEST_DIST_KILL_AFTER"  # read only by gotasks/go/dist.py's swap steps
RECOVERED = re.compile(r"^.*dist: (finished|undid) the swap of a build killed.*$", re.MULTILINE)


def other_target() -> str:
    return "linux/arm64" if host_target() != "linux/arm64" else "linux/amd64"


@dataclass
class TwoBuilds:
    """A project whose dist/ holds the build of one commit (saved aside, to be put back
    before each attempt) while HEAD is a later commit: every build from now is the new one."""

    project: Project
    saved: Path
    old: dict[str, bytes]
    new: dict[str, bytes]
    commits: dict[str, str]  # "old"/"new" -> the commit stamped into that build's binaries
    seconds: float  # how long the new build took

    def put_back_old(self) -> None:
        dist = self.project.root / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        shutil.copytree(self.saved, dist, symlinks=True)

    def check(self) -> tuple[str, str]:
        """A later run (one that fails: its swap must not hide what the recovery did), then
        which build dist/ holds, and what that run said."""
        broken = self.project.write("hello/greet/broken.go", "package greet\n\nfunc {\n")
        try:
            result = self.project.inv("build")
        finally:
            broken.unlink()
        assert result.returncode == 1, f"{result.stdout}\n{result.stderr}"
        return self.whole(), result.stdout + result.stderr

    def whole(self) -> str:
        dist = self.project.root / "dist"
        now = dist_files(self.project)
        assert now in (self.old, self.new), f"neither the old build nor the new: {sorted(now)}"
        assert not [p.name for p in dist.iterdir() if p.name.startswith(".")]
        sums_check(dist)
        which = "new" if now == self.new else "old"
        assert version_of(host_binary(self.project))["commit"] == self.commits[which]
        return which


@pytest.fixture
def two_builds(make_project: MakeProject) -> TwoBuilds:
    project = adopted(make_project, [host_target(), other_target()])
    ok(project.inv("build"))
    old_commit = project.git("rev-parse", "HEAD")
    saved = project.root.parent / "old-dist"
    shutil.copytree(project.root / "dist", saved, symlinks=True)
    old = dist_files(project)
    project.write("hello/README.md", "a new commit: another version in every binary\n")
    new_commit = project.commit_all("the new build")
    started = time.monotonic()
    ok(project.inv("build"))
    seconds = time.monotonic() - started
    new = dist_files(project)
    assert version_of(host_binary(project))["commit"] == new_commit != old_commit
    return TwoBuilds(project, saved, old, new, {"old": old_commit, "new": new_commit}, seconds)


@pytest.mark.e2e
def test_a_build_killed_at_any_step_of_its_swap_leaves_a_whole_dist(two_builds: TwoBuilds) -> None:
    project = two_builds.project
    outcomes = []
    for step in range(1, 100):
        two_builds.put_back_old()
        killed = project.inv("build", env={KILL_HOOK: str(step)})
        if killed.returncode == 0:
            break
        assert killed.returncode == -signal.SIGKILL, f"{killed.stdout}\n{killed.stderr}"
        pending = (project.root / "dist" / ".swap.json").exists()
        outcome, said = two_builds.check()
        outcomes.append(outcome)
        recovered = RECOVERED.findall(said)
        if pending:
            # one line, saying which way it went
            assert recovered == [{"old": "undid", "new": "finished"}[outcome]], said
        else:
            assert recovered == [], said
        assert "scratch folder(s) of killed builds" in said
    # the journal; two targets set aside and put in; SHA256SUMS; two set-aside removed;
    # the journal removed: then the build ran through
    assert step == 1 + 2 * 2 + 1 + 2 + 1 + 1, f"the swap took {step - 1} steps"
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert two_builds.whole() == "new"


@pytest.mark.e2e
def test_inv_build_sigkilled_at_random_moments_leaves_a_whole_dist(
    two_builds: TwoBuilds,
) -> None:
    project = two_builds.project
    moments = random.Random(os.getpid())
    for _ in range(3):
        two_builds.put_back_old()
        build = subprocess.Popen(
            [sys.executable, "-m", "invoke", "build"],
            cwd=project.root,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            build.wait(timeout=moments.uniform(0, two_builds.seconds * 1.2))
        except subprocess.TimeoutExpired:
            build.kill()  # SIGKILL, to inv alone: what it started is left running
            build.wait()
        end_group(build.pid)  # before the check run, so no go writes into dist/ after it
        two_builds.check()


def end_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def ended_owner_record() -> str:
    """pid-start-host of a real process that has ended, as a scratch folder's name holds it."""
    sleeper = subprocess.Popen(["sleep", "600"])
    started = round(psutil.Process(sleeper.pid).create_time(), 2)
    sleeper.kill()
    sleeper.wait()
    return owners.Owner(sleeper.pid, started, owners.me().host).record


def dist_lock_is_free(project: Project) -> bool:
    with (project.root / ".gotasks" / "dist.lock").open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True


@pytest.mark.e2e
def test_a_dead_builds_scratch_is_removed_and_a_running_ones_kept(
    make_project: MakeProject,
) -> None:
    project = adopted(make_project)
    ok(project.inv("build"))
    dist = project.root / "dist"
    for _ in range(5):
        running = subprocess.Popen(
            [sys.executable, "-m", "invoke", "build"],
            cwd=project.root,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs: list[Path] = []
        while not theirs and running.poll() is None:
            theirs = list(dist.glob(f".build-{running.pid}-*"))
            time.sleep(0.01)
        if not theirs:  # done before we looked
            ok_exit(running)
            continue
        # Stopped (alive, its scratch folder in use) while it builds, not while it swaps.
        os.killpg(running.pid, signal.SIGSTOP)
        if dist_lock_is_free(project):
            break
        os.killpg(running.pid, signal.SIGCONT)
        ok_exit(running)
    else:
        pytest.fail("never caught a build between its scratch folder and its swap")
    try:
        dead = dist / f".build-{ended_owner_record()}-0badcafe" / "out" / folder(host_target())
        dead.mkdir(parents=True)
        (dead / "hello").write_bytes(b"half a binary")
        result = ok(project.inv("build"))
        assert "removed 1 scratch folder(s) of killed builds" in result.stdout + result.stderr
        assert [p.name for p in dist.iterdir() if p.name.startswith(".")] == [theirs[0].name]
    finally:
        os.killpg(running.pid, signal.SIGCONT)
    ok_exit(running)
    assert not [p.name for p in dist.iterdir() if p.name.startswith(".")]


def ok_exit(process: subprocess.Popen[bytes]) -> None:
    assert process.wait(timeout=600) == 0
