"""Up-to-date skipping through the real `inv`, go and git: what is skipped, what reruns after
each kind of change (and --explain naming it), and never a wrong green."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SOURCE, Project, clean_env, require_go, sums_check

pytestmark = pytest.mark.e2e

MakeProject = Callable[..., Project]


@pytest.fixture(autouse=True)
def _go() -> None:
    require_go()


# conftest's runs force every task; these let up-to-date skipping work, as users have it.
SKIPPING = {"GOTASKS_FORCE": ""}


def inv(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return project.inv(*args, env={**SKIPPING, **(env or {})})


def out(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def verdicts(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """{"test hello": "up to date" | "ran"} from the task headers of a run."""
    found = {}
    for match in re.finditer(
        r"^==> (\w+) (\S+) \(\S+\) \[[^]]*\]( up to date)?", result.stdout, re.M
    ):
        found[f"{match.group(1)} {match.group(2)}"] = "up to date" if match.group(3) else "ran"
    return found


def why(result: subprocess.CompletedProcess[str]) -> list[str]:
    return re.findall(r"^why: (.*)$", result.stdout, re.M)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, out(result)
    return result


def test_nothing_changed_skips_lint_test_and_build_and_the_run_says_so(
    make_project: MakeProject,
) -> None:
    project = make_project()
    first = ok(inv(project, "ci"))
    assert verdicts(first) == {"lint hello": "ran", "test hello": "ran", "build hello": "ran"}
    history = json.loads((project.root / ".gotasks" / "history.json").read_text())["tasks"]
    trace = project.root / "trace.json"
    page = project.root / "report.html"
    second = ok(inv(project, "ci", "--trace", str(trace), "--report", str(page)))
    assert verdicts(second) == {
        "lint hello": "up to date",
        "test hello": "up to date",
        "build hello": "up to date",
    }
    header = re.search(
        r"^==> test hello .* up to date \(passed (\d\d:\d\d), saved (\S+)\)$", second.stdout, re.M
    )
    assert header, second.stdout
    # The summary: each task's status, and the tally.
    assert re.search(r"^  test\[hello\]\s+up\s", second.stdout, re.M), second.stdout
    assert "1 ran, 3 up to date" in second.stdout
    # The trace: a zero-length slice per up-to-date task, marked so.
    events = json.loads(trace.read_text())["traceEvents"]
    slices = {e["name"]: e for e in events if e.get("ph") == "X"}
    for name in ("lint[hello]", "test[hello]", "build[hello]"):
        assert slices[name]["dur"] == 0 and slices[name]["args"]["status"] == "uptodate"
    # The report: the same status, as a bar of no length.
    html = page.read_text()
    for name in ("lint[hello]", "test[hello]", "build[hello]"):
        assert re.search(
            rf'data-task="{re.escape(name)}" data-status="uptodate"[^>]*data-duration="0.0"', html
        ), name
    # No duration sample for what did not run.
    # (A task's entry is [last run, durations, peak RSS, CPU]: its samples are a column.)
    after = json.loads((project.root / ".gotasks" / "history.json").read_text())["tasks"]
    for name in ("lint[hello]", "test[hello]", "build[hello]"):
        assert len(after[name][1]) == len(history[name][1])
    assert len(after["ci"][1]) == len(history["ci"][1]) + 1
    sums_check(project.root / "dist")


def test_each_kind_of_change_reruns_and_explain_names_it(make_project: MakeProject) -> None:
    project = make_project()
    hello = project.root / "hello"
    project.write("hello/stats/testdata/cases.txt", "1 2 3\n")
    env: dict[str, str] = {}
    args = ["test", "--module=hello", "--explain"]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return ok(inv(project, *args, *extra, env=env))

    first = run()
    assert verdicts(first) == {"test hello": "ran"}
    assert why(first) == ["no earlier success recorded"]

    def changed(expected: list[str], *extra: str) -> None:
        result = run(*extra)
        assert verdicts(result) == {"test hello": "ran"}, out(result)
        assert why(result) == expected, out(result)
        again = run(*extra)
        assert verdicts(again) == {"test hello": "up to date"}, out(again)

    assert verdicts(run()) == {"test hello": "up to date"}
    greet = hello / "greet" / "greet.go"
    greet.write_text(greet.read_text() + "\nfunc added() int { return 1 }\n")
    changed(["files: changed greet/greet.go"])
    (hello / "stats" / "testdata" / "cases.txt").write_text("4 5 6\n")
    changed(["files: changed stats/testdata/cases.txt"])
    (hello / "NOTES.md").write_text("untracked\n")
    changed(["files: added NOTES.md"])
    (hello / "README.md").unlink()
    changed(["files: removed README.md"])
    gomod = hello / "go.mod"
    gomod.write_text(gomod.read_text() + "\n// a comment\n")
    changed(["files: changed go.mod"])
    project.write("lib/go.mod", "module example.com/lib\n\ngo 1.21\n")
    project.write("lib/lib.go", "package lib\n\nfunc One() int { return 1 }\n")
    gomod.write_text(gomod.read_text() + "\nreplace example.com/lib => ../lib\n")
    changed(["files: changed go.mod", "workspace: added ../lib/go.mod, ../lib/lib.go"])
    project.write("lib/lib.go", "package lib\n\nfunc One() int { return 2 }\n")
    changed(["workspace: changed ../lib/lib.go"])
    dev = project.root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "test:\n  timeout: 9m\n")
    # the timeout reaches go test's command line: both say so
    changed(["flags: changed go test", "settings: changed test.timeout"])
    dev.write_text(dev.read_text().replace("tags: [dev]", "tags: [dev, extra]"))
    # Tags travel in GOFLAGS: go env says so too.
    changed(["settings: changed go.tags", "toolchain: changed GOFLAGS"])
    changed(["flags: changed go test"], "--short")
    env["GOAMD64"] = "v2"  # a Go setting of the environment: the toolchain's answer differs
    changed(["toolchain: changed GOAMD64", "variables: added GOAMD64"], "--short")
    env["HELLO_GREETING"] = "hi"  # a variable a test may read
    changed(["variables: added HELLO_GREETING"], "--short")
    # lint reads no variable: it stays up to date where test reruns.
    ok(inv(project, "lint", "--module=hello", env=env))
    env["HELLO_GREETING"] = "hey"
    assert verdicts(ok(inv(project, "lint", "--module=hello", env=env))) == {
        "lint hello": "up to date"
    }
    result = run("--short")
    assert why(result) == ["variables: changed HELLO_GREETING"]
    assert "hey" not in result.stdout


def test_a_change_to_gotasks_own_task_code_reruns(
    make_project: MakeProject, tmp_path: Path
) -> None:
    project = make_project()
    copy = tmp_path / "site" / "gotasks"
    shutil.copytree(SOURCE / "gotasks", copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(copy.parent)}
    ok(inv(project, "lint", "--module=hello", env=env))
    assert verdicts(ok(inv(project, "lint", "--module=hello", env=env))) == {
        "lint hello": "up to date"
    }
    lint = copy / "lint.py"
    lint.write_text(lint.read_text() + "\n# how lint runs changed\n")
    result = ok(inv(project, "lint", "--module=hello", "--explain", env=env))
    assert verdicts(result) == {"lint hello": "ran"}
    assert why(result) == ["gotasks: changed code"]


def test_force_reruns_an_up_to_date_task(make_project: MakeProject) -> None:
    project = make_project()
    ok(inv(project, "lint", "--module=hello"))
    assert verdicts(ok(inv(project, "lint"))) == {"lint hello": "up to date"}
    forced = ok(inv(project, "lint", "--force", "--explain"))
    assert verdicts(forced) == {"lint hello": "ran"}
    assert why(forced) == ["--force (or GOTASKS_FORCE)"]
    by_variable = ok(inv(project, "lint", env={"GOTASKS_FORCE": "yes"}))
    assert verdicts(by_variable) == {"lint hello": "ran"}
    assert verdicts(ok(inv(project, "lint"))) == {"lint hello": "up to date"}


def test_an_edit_while_the_task_runs_is_not_recorded(make_project: MakeProject) -> None:
    project = make_project()
    # A test that changes a file of the module while go test runs (as an editor would).
    project.write(
        "hello/greet/touch_test.go",
        'package greet\n\nimport (\n\t"os"\n\t"testing"\n)\n\n'
        "func TestTouch(t *testing.T) {\n"
        '\tif err := os.WriteFile("touched.txt", []byte(t.Name()), 0o644); err != nil {\n'
        "\t\tt.Fatal(err)\n\t}\n}\n",
    )
    first = ok(inv(project, "test", "--explain"))
    assert verdicts(first) == {"test hello": "ran"}
    assert (
        "why: not recorded as up to date: changed while it ran: files: added greet/touched.txt"
        in first.stdout
    )
    # Not recorded: the next run runs again (go's own cache answers it: no write this time).
    second = ok(inv(project, "test", "--explain"))
    assert verdicts(second) == {"test hello": "ran"}
    assert why(second) == ["no earlier success recorded"]
    assert verdicts(ok(inv(project, "test"))) == {"test hello": "up to date"}


def test_a_tampered_binary_in_dist_is_rebuilt(make_project: MakeProject) -> None:
    project = make_project()
    ok(inv(project, "build", "--host"))
    assert verdicts(ok(inv(project, "build", "--host"))) == {"build hello": "up to date"}
    dist = project.root / "dist"
    (binary,) = [p for p in dist.glob("hello_*/hello")]
    good = binary.read_bytes()
    binary.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    result = ok(inv(project, "build", "--host", "--explain"))
    assert verdicts(result) == {"build hello": "ran"}
    assert why(result) == ["its outputs changed since it passed"]
    sums_check(dist)
    assert binary.read_bytes() == good
    # A SHA256SUMS that no longer lists it: rebuilt too.
    (dist / "SHA256SUMS").write_text("")
    assert verdicts(ok(inv(project, "build", "--host"))) == {"build hello": "ran"}
    sums_check(dist)


def test_a_build_starts_from_dist_only_with_binaries_as_they_were_built(
    make_project: MakeProject,
) -> None:
    """A build after an edit copies dist/'s binaries into its scratch folder first, so that
    go leaves the ones its own up-to-date check finds current (no link): one changed by
    hand is not copied, even where go would keep it (go reads only its build ID)."""
    project = make_project()
    (project.root / "NOTES.txt").write_text("untracked: the tree is dirty, as edits keep it\n")
    ok(inv(project, "build", "--host"))
    (binary,) = [p for p in (project.root / "dist").glob("hello_*/hello")]
    good = binary.read_bytes()
    # Bytes added at the end leave the build ID go reads at the start as it was.
    binary.write_bytes(good + b"changed by hand")
    # An edit of a test: the build runs (a file of the module changed), its binary would not.
    with (project.root / "hello" / "greet" / "greet_test.go").open("a") as test:
        test.write("\n// An edited test.\n")
    assert verdicts(ok(inv(project, "build", "--host"))) == {"build hello": "ran"}
    assert binary.read_bytes() == good
    sums_check(project.root / "dist")
    # A change the binary holds: linked again from the copy of the last build.
    source = project.root / "hello" / "greet" / "greet.go"
    original = source.read_text()
    source.write_text(original.replace('DefaultName = "World"', 'DefaultName = "Planet"'))
    assert verdicts(ok(inv(project, "build", "--host"))) == {"build hello": "ran"}
    said = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
    assert said == "Hello, Planet!\n"
    sums_check(project.root / "dist")
    # So is a new stamp (here the commit: -ldflags change, the packages do not).
    project.commit_all("planet")
    ok(inv(project, "build", "--host"))
    version = subprocess.run([binary, "version"], capture_output=True, text=True, check=True)
    assert project.git("rev-parse", "HEAD").strip() in version.stdout


def test_a_corrupted_state_file_is_a_miss_with_one_warning(make_project: MakeProject) -> None:
    project = make_project()
    ok(inv(project, "test"))
    state = project.root / ".gotasks" / "state" / "dev" / "hello.test.json"
    assert state.is_file()
    state.write_bytes(b'{"format": "gotasks-state", "schema": 1, "entr')
    result = ok(inv(project, "test"))
    assert verdicts(result) == {"test hello": "ran"}
    warnings = [line for line in result.stderr.splitlines() if "hello.test.json" in line]
    assert len(warnings) == 1 and "set aside" in warnings[0], result.stderr
    assert "Traceback" not in out(result)
    again = ok(inv(project, "test"))
    assert verdicts(again) == {"test hello": "up to date"} and "hello.test.json" not in again.stderr


def test_two_runs_at_once_both_pass_and_leave_sound_state(make_project: MakeProject) -> None:
    project = make_project()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoke", "ci"],
            cwd=project.root,
            env=clean_env(**SKIPPING),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stdout + stderr
    for path in (project.root / ".gotasks" / "state" / "dev").glob("*.json"):
        assert json.loads(path.read_text())["entries"], path
    third = ok(inv(project, "ci"))
    assert set(verdicts(third).values()) == {"up to date"}, third.stdout
    sums_check(project.root / "dist")


def test_junit_and_coverage_are_replayed_by_an_up_to_date_test(make_project: MakeProject) -> None:
    project = make_project()
    report = project.root / "reports" / "junit.xml"
    profile = project.root / ".gotasks" / "cover" / "hello.out"
    args = ("test", "--junit", str(report), "--cover")
    first = ok(inv(project, *args))
    written, covered = report.read_text(), profile.read_text()
    assert "<testcase" in written and "coverage:" in first.stdout
    report.unlink()
    profile.unlink()
    second = ok(inv(project, *args))
    assert verdicts(second) == {"test hello": "up to date"}
    assert report.read_text() == written and profile.read_text() == covered
    assert re.search(r"^coverage: \d+\.\d+% of statements", second.stdout, re.M)


def test_a_failure_is_never_recorded(make_project: MakeProject) -> None:
    project = make_project()
    project.write(
        "hello/greet/fail_test.go",
        'package greet\n\nimport "testing"\n\nfunc TestFails(t *testing.T) { t.Fatal("no") }\n',
    )
    for _ in range(2):
        result = inv(project, "test")
        assert result.returncode == 1 and verdicts(result) == {"test hello": "ran"}, out(result)
    assert not (project.root / ".gotasks" / "state" / "dev" / "hello.test.json").exists()


def test_what_always_runs_dry_runs_fix_and_count(make_project: MakeProject) -> None:
    project = make_project()
    ok(inv(project, "--dry", "ci"))
    assert not (project.root / ".gotasks" / "state").exists()
    for _ in range(2):
        assert verdicts(ok(inv(project, "lint", "--fix"))) == {"lint hello": "ran"}
        # -count asks go to run the tests again: gotasks does not answer for it either
        assert verdicts(ok(inv(project, "test", "--count", "1"))) == {"test hello": "ran"}


def test_another_go_sdk_reruns(make_project: MakeProject, tmp_path: Path) -> None:
    """A copy of this Go SDK (hard links: the same binaries) first on PATH: the same go
    version, another GOROOT, so what was checked with the other one reruns."""
    go = shutil.which("go")
    assert go is not None
    goroot = Path(
        subprocess.run(
            [go, "env", "GOROOT"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    copy = tmp_path / "sdk-copy"
    linked = subprocess.run(["cp", "-al", str(goroot), str(copy)], capture_output=True, check=False)
    if linked.returncode != 0:
        pytest.skip(f"cannot hard-link {goroot} into {tmp_path}: a copy would take minutes")
    project = make_project()
    ok(inv(project, "lint"))
    assert verdicts(ok(inv(project, "lint"))) == {"lint hello": "up to date"}
    path = f"{copy / 'bin'}:{clean_env()['PATH']}"
    result = ok(inv(project, "lint", "--explain", env={"PATH": path}))
    assert verdicts(result) == {"lint hello": "ran"}
    assert why(result) == ["toolchain: changed GOROOT, GOTOOLDIR"]
    assert verdicts(ok(inv(project, "lint", env={"PATH": path}))) == {"lint hello": "up to date"}


def test_switching_branches_back_is_still_up_to_date(make_project: MakeProject) -> None:
    project = make_project()
    ok(inv(project, "test"))
    project.git("checkout", "-q", "-b", "feature")
    greet = project.root / "hello" / "greet" / "greet.go"
    greet.write_text(greet.read_text() + "\nfunc feature() int { return 1 }\n")
    project.commit_all("feature")
    assert verdicts(ok(inv(project, "test"))) == {"test hello": "ran"}
    project.git("checkout", "-q", "main")  # new mtimes, the old content
    assert verdicts(ok(inv(project, "test"))) == {"test hello": "up to date"}
    project.git("checkout", "-q", "feature")
    assert verdicts(ok(inv(project, "test"))) == {"test hello": "up to date"}


def test_configured_inputs_count_and_a_bad_glob_is_one_line(make_project: MakeProject) -> None:
    project = make_project()
    dev = project.root / "config" / "dev.yaml"
    text = dev.read_text()
    dev.write_text(text + "test:\n  inputs: [/etc/passwd]\n")
    bad = inv(project, "test")
    assert bad.returncode == 2, out(bad)
    (line,) = bad.stderr.strip().splitlines()
    assert "config/dev.yaml:" in line and "test.inputs" in line and "relative" in line
    dev.write_text(text + "test:\n  inputs: ['shared/**/*.json']\n")
    ok(inv(project, "test"))  # no match yet: that counts too
    project.write("shared/schema/a.json", "{}\n")
    first = ok(inv(project, "test", "--explain"))
    assert why(first) == ["inputs: added shared/schema/a.json; removed shared/**/*.json (no match)"]
    assert verdicts(ok(inv(project, "test"))) == {"test hello": "up to date"}
    project.write("shared/schema/a.json", '{"v": 2}\n')
    changed = ok(inv(project, "test", "--explain"))
    assert why(changed) == ["inputs: changed shared/schema/a.json"]
    # lint does not read them: still up to date
    ok(inv(project, "lint"))
    project.write("shared/schema/a.json", '{"v": 3}\n')
    assert verdicts(ok(inv(project, "lint"))) == {"lint hello": "up to date"}


def _workspace_of_four(project: Project) -> None:
    """m1..m4, each the example under its own module path, in one go.work; m1's code
    imports m2's greet package (required and replaced by ../m2, as `go mod tidy` wants)."""
    for n in range(1, 5):
        folder = project.root / f"m{n}"
        shutil.copytree(SOURCE / "examples" / "hello", folder)
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".go", ".mod"):
                text = path.read_text(encoding="utf-8")
                path.write_text(text.replace("example.com/hello", f"example.com/m{n}"))
    project.write(
        "m1/greet/sibling.go",
        'package greet\n\nimport other "example.com/m2/greet"\n\n'
        "// Sibling greets through m2.\n"
        'func Sibling() string { return other.Hello("m1") }\n',
    )
    gomod = project.root / "m1" / "go.mod"
    gomod.write_text(
        gomod.read_text() + "\nrequire example.com/m2 v0.0.0\n\nreplace example.com/m2 => ../m2\n"
    )
    project.write("go.work", "go 1.21\n\nuse (\n\t./m1\n\t./m2\n\t./m3\n\t./m4\n)\n")
    project.commit_all("four modules")


def _ran(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {name for name, verdict in verdicts(result).items() if verdict == "ran"}


def test_a_workspace_edit_reruns_only_the_edited_module_and_those_that_import_it(
    make_project: MakeProject,
) -> None:
    project = make_project(example=False)
    _workspace_of_four(project)
    every = {f"{task} m{n}" for task in ("lint", "test", "build") for n in range(1, 5)}
    # The tree is dirty from the start: a clean tree turning dirty changes every build's
    # stamps (main.dirty), which would rerun every build for a reason of its own.
    project.write("NOTES.md", "not committed\n")
    assert _ran(ok(inv(project, "ci"))) == every
    assert _ran(ok(inv(project, "ci"))) == set()

    def edit(rel: str) -> None:
        path = project.root / rel
        path.write_text(path.read_text() + "\n// an edit\n")

    edit("m3/greet/greet.go")  # nobody imports m3
    assert _ran(ok(inv(project, "ci"))) == {"lint m3", "test m3", "build m3"}
    edit("m1/stats/stats.go")  # m1 imports m2, not the other way round
    assert _ran(ok(inv(project, "ci"))) == {"lint m1", "test m1", "build m1"}
    edit("m2/greet/greet.go")  # m1 imports it: both rerun, and --explain says why
    result = ok(inv(project, "ci", "--explain"))
    assert _ran(result) == {f"{task} m{n}" for task in ("lint", "test", "build") for n in (1, 2)}
    assert "workspace: changed ../m2/greet/greet.go" in why(result), out(result)
    edit("m4/go.mod")  # the workspace's build list is every module's go.mod: all rerun
    assert _ran(ok(inv(project, "ci"))) == every
    edit("go.work")
    assert _ran(ok(inv(project, "ci"))) == every
    assert _ran(ok(inv(project, "ci"))) == set()


TIDY_ASKED = "ok   go.mod/go.sum tidy\n"
TIDY_REMEMBERED = "ok   go.mod/go.sum tidy (imports, go.mod and go.sum as when it last passed)"


def test_go_mod_tidy_is_asked_again_only_when_what_it_reads_changed(
    make_project: MakeProject,
) -> None:
    """lint remembers that `go mod tidy -diff` passed, under a key of go.mod, go.sum, every
    Go file's imports, the local replace targets and the go: a function body's edit reruns
    lint without asking tidy; each change tidy would see asks it again."""
    project = make_project()
    hello = project.root / "hello"
    # A local module, required and replaced: a dependency tidy judges without the network.
    lib = project.root.parent / "lib"
    lib.mkdir()
    lib_mod = "module example.com/lib\n\ngo 1.21\n"
    (lib / "go.mod").write_text(lib_mod)
    (lib / "lib.go").write_text('package lib\n\n// Name is its name.\nconst Name = "lib"\n')
    gomod = hello / "go.mod"
    requires = "\nrequire example.com/lib v0.0.0\n"
    tidy_mod = gomod.read_text() + requires + "\nreplace example.com/lib => ../../lib\n"
    gomod.write_text(tidy_mod)
    greet = hello / "greet" / "greet.go"
    plain = greet.read_text()
    use = "\n// Library names the library.\nfunc Library() string { return lib.Name }\n"
    uses_lib = plain.replace("import (\n", 'import (\n\t"example.com/lib"\n', 1) + use
    greet.write_text(uses_lib)
    project.commit_all("lib")

    assert TIDY_ASKED in ok(inv(project, "lint")).stdout
    # A function body edited: lint runs (a file changed), tidy is not asked.
    greet.write_text(uses_lib.replace("return lib.Name", 'return lib.Name + ""'))
    second = ok(inv(project, "lint"))
    assert verdicts(second) == {"lint hello": "ran"}
    assert TIDY_REMEMBERED in second.stdout
    greet.write_text(uses_lib)

    def asked_again(path: Path, text: str, tidy: bool) -> None:
        before = path.read_text()
        path.write_text(text)
        result = inv(project, "lint")
        if tidy:
            assert TIDY_ASKED in ok(result).stdout
        else:
            assert result.returncode == 1, out(result)
            assert "go.mod/go.sum are not tidy" in result.stdout, out(result)
        path.write_text(before)
        ok(inv(project, "lint"))  # as it was (lint itself is up to date)

    asked_again(greet, plain, tidy=False)  # the import dropped: the requirement is unused
    asked_again(gomod, tidy_mod.replace(requires, ""), tidy=False)  # the requirement dropped
    # The replace target's go.mod asks for a newer go: tidy would raise this one's go line.
    asked_again(lib / "go.mod", lib_mod.replace("go 1.21", "go 1.25"), tidy=False)
    # The import moved from the code to a test (tidy counts tests' imports): tidy again.
    test_file = hello / "greet" / "lib_test.go"
    test_file.write_text('package greet\n\nimport "example.com/lib"\n\nvar _ = lib.Name\n')
    asked_again(greet, plain, tidy=True)
    # --force asks it whatever is remembered.
    assert TIDY_ASKED in ok(inv(project, "lint", "--force")).stdout
