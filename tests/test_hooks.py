"""Hook mode (`inv lint --staged`), `inv hooks.install` and the pre-commit framework's hook,
through real commits: real git, real go, real inv."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import LEASE_DIR, SOURCE, Project, clean_env, require_go
from invoke.program import Program

import tasks
from gotasks.core.files import atomic_write_text
from gotasks.engine.executor import Executor
from gotasks.go import git as gitcalls

MakeProject = Callable[..., Project]

IDENTITY = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
MARKER = "# installed by gotasks: inv hooks.install"

CLEAN = "package greet\n\n// Extra is new.\nfunc Extra() int { return 1 }\n"
# gofmt changes line 4 first (the func line).
UGLY = "package greet\n\n// Ugly is not gofmt-ed.\nfunc  Ugly( ) int {\n\treturn 1\n}\n"
UGLY_LINE = 4
# A vet error on line 7, formatted.
VET = (
    'package greet\n\nimport "fmt"\n\n// Bad has a vet error.\nfunc Bad() {\n'
    '\tfmt.Printf("%d\\n", "x")\n}\n'
)
BROKEN = "package greet\n\nfunc Broken( {\n"


@pytest.fixture(autouse=True)
def _go() -> None:
    require_go()


def out(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def run_git(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """git as the user types it: the same environment as Project.inv, hooks included."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(**IDENTITY, **(env or {})),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def commit(
    project: Project, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_git(cwd or project.root, "commit", "-m", "change", env=env)


def head(project: Project) -> str:
    return project.git("rev-parse", "HEAD")


def stage(project: Project, rel: str, text: str) -> None:
    project.write(rel, text)
    project.git("add", rel)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def inv_in_process(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """`inv ARGS` run inside this process, as anything that runs tasks more than once in
    one process would: its exit code."""
    for name in [k for k in os.environ if k.startswith("GOTASKS_")] + ["CI", "GITHUB_ACTIONS"]:
        monkeypatch.delenv(name, raising=False)
    settings = {"NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1", "GOENV": "off"}
    # The tests' own lease folder, as clean_env gives a spawned inv: another gotasks run on
    # the machine would otherwise add its "sharing:" line to the output.
    own = {"GOTASKS_ROOT": str(project.root), "GOTASKS_LEASE_DIR": LEASE_DIR}
    for name, value in {**settings, **own}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project.root)
    try:
        Program(namespace=tasks.ns, executor_class=Executor).run(["inv", *args])
    except SystemExit as error:
        return int(error.code or 0)
    return 0


def two_modules(project: Project) -> None:
    for rel in ("svc/a", "lib/b"):
        name = rel.rsplit("/", 1)[-1]
        project.write(f"{rel}/go.mod", f"module example.com/{name}\n\ngo 1.21\n")
        project.write(f"{rel}/{name}.go", f"package {name}\n\nfunc F() int {{ return 1 }}\n")


@pytest.fixture
def hooked(make_project: MakeProject) -> Project:
    """The example project (hello/) with gotasks' plain git hook installed."""
    project = make_project()
    result = project.inv("hooks.install")
    assert result.returncode == 0, out(result)
    return project


# -- commits through the plain hook -----------------------------------------------------------


def test_commit_of_an_unformatted_file_is_refused_naming_file_and_line(hooked: Project) -> None:
    before = head(hooked)
    stage(hooked, "hello/greet/ugly.go", UGLY)
    result = commit(hooked)
    assert result.returncode != 0, out(result)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted (inv lint --fix)" in out(result)
    assert "lint --staged: 1 problem in staged files; commit refused" in result.stderr
    assert "Traceback" not in out(result)
    assert head(hooked) == before


def test_commit_with_a_vet_error_is_refused_naming_file_and_line(hooked: Project) -> None:
    before = head(hooked)
    stage(hooked, "hello/greet/bad.go", VET)
    result = commit(hooked)
    assert result.returncode != 0, out(result)
    vet_line = re.compile(r"^hello/greet/bad\.go:7:\d+: .*Printf", re.MULTILINE)
    assert vet_line.search(out(result)), out(result)
    assert "not gofmt-formatted" not in out(result)
    assert head(hooked) == before


def test_a_file_gofmt_cannot_parse_is_refused_naming_file_and_line(hooked: Project) -> None:
    stage(hooked, "hello/greet/broken.go", BROKEN)
    result = commit(hooked)
    assert result.returncode != 0, out(result)
    assert re.search(r"^hello/greet/broken\.go:3:\d+: ", out(result), re.MULTILINE), out(result)


def test_a_clean_one_file_change_is_committed(hooked: Project) -> None:
    before = head(hooked)
    stage(hooked, "hello/greet/extra.go", CLEAN)
    result = commit(hooked)
    assert result.returncode == 0, out(result)
    assert "go vet ./greet" in out(result)  # the staged file's package, not ./...
    assert "go.mod/go.sum tidy" not in out(result)  # no go.mod staged: no tidiness check
    assert head(hooked) != before


def test_an_unformatted_file_that_is_not_staged_does_not_block(hooked: Project) -> None:
    hooked.write("hello/greet/untracked.go", UGLY.replace("Ugly", "Untracked"))
    greet = hooked.root / "hello" / "greet" / "greet.go"
    greet.write_text(greet.read_text() + "\nfunc  Unstaged( ) {}\n")
    stage(hooked, "hello/greet/extra.go", CLEAN)
    result = commit(hooked)
    assert result.returncode == 0, out(result)


def test_gofmt_judges_the_staged_content_not_the_work_tree(hooked: Project) -> None:
    # Staged formatted, unformatted only in the work tree: the commit records the good one.
    stage(hooked, "hello/greet/extra.go", CLEAN)
    hooked.write("hello/greet/extra.go", CLEAN.replace("func Extra()", "func  Extra( )"))
    accepted = commit(hooked)
    assert accepted.returncode == 0, out(accepted)
    # go vet reads the work tree: said once, naming the file.
    assert out(accepted).count("changed again since staged") == 1, out(accepted)
    assert "hello/greet/extra.go: changed again since staged" in out(accepted)
    # And the other way round: staged unformatted, fixed only in the work tree.
    before = head(hooked)
    stage(hooked, "hello/greet/ugly.go", UGLY)
    hooked.write("hello/greet/ugly.go", UGLY.replace("func  Ugly( )", "func Ugly()"))
    refused = commit(hooked)
    assert refused.returncode != 0, out(refused)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(refused)
    assert head(hooked) == before


def test_lint_fix_formats_what_the_hook_refused(hooked: Project) -> None:
    stage(hooked, "hello/greet/ugly.go", UGLY)
    assert commit(hooked).returncode != 0
    fixed = hooked.inv("lint", "--fix")
    assert fixed.returncode == 0, out(fixed)
    ugly = hooked.root / "hello" / "greet" / "ugly.go"
    assert "func Ugly() int {" in ugly.read_text()
    hooked.git("add", "hello/greet/ugly.go")
    result = commit(hooked)
    assert result.returncode == 0, out(result)


def test_files_lint_never_checks_are_left_out(hooked: Project) -> None:
    """testdata/, vendor/ and `_` files: `inv lint` skips them, and so does the hook."""
    stage(hooked, "hello/greet/testdata/fixture.go", UGLY)
    stage(hooked, "hello/vendor/example.com/v/v.go", UGLY)
    stage(hooked, "hello/greet/_scratch.go", UGLY)
    hooked.write("README.txt", "not Go\n")
    hooked.git("add", "README.txt")
    lint = hooked.inv("lint", "--staged")
    assert lint.returncode == 0, out(lint)
    assert one_line(lint.stdout) == "lint --staged: no staged Go files"
    result = commit(hooked)
    assert result.returncode == 0, out(result)


def test_a_staged_go_mod_gets_the_tidiness_check(hooked: Project) -> None:
    gomod = hooked.root / "hello" / "go.mod"
    stage(hooked, "hello/go.mod", gomod.read_text() + "\n// a comment\n")
    result = hooked.inv("lint", "--staged")
    assert result.returncode == 0, out(result)
    assert "go.mod/go.sum tidy" in result.stdout
    assert "go vet" not in result.stdout  # no .go file staged: no package to vet


def test_the_fallback_to_inv_when_the_recorded_python_is_gone(hooked: Project) -> None:
    hook = hooked.root / ".git" / "hooks" / "pre-commit"
    text = hook.read_text()
    hook.write_text(re.sub(r"^python=.*$", "python=/nonexistent/python3", text, flags=re.M))
    stage(hooked, "hello/greet/ugly.go", UGLY)
    # The python that has invoke and gotasks, as a venv puts it: its bin/ first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if shutil.which("inv", path=path) is None:
        pytest.skip("no `inv` script beside this python")
    result = commit(hooked, env={"PATH": path})
    assert result.returncode != 0, out(result)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(result)


# -- hook mode on its own -----------------------------------------------------------------------


def test_hook_mode_changes_nothing(make_project: MakeProject) -> None:
    project = make_project()
    stage(project, "hello/greet/ugly.go", UGLY)
    stage(project, "hello/greet/bad.go", VET)
    before = project.tree_snapshot()
    status = project.git("status", "--porcelain")
    index = project.git("ls-files", "--stage")
    result = project.inv("lint", "--staged")
    assert result.returncode == 1, out(result)
    assert "lint --staged: 2 problems in staged files; commit refused" in result.stderr
    assert project.tree_snapshot() == before
    assert project.git("status", "--porcelain") == status
    assert project.git("ls-files", "--stage") == index


def test_nothing_staged_is_one_line_and_exit_0(make_project: MakeProject) -> None:
    project = make_project()
    result = project.inv("lint", "--staged")
    assert result.returncode == 0, out(result)
    assert one_line(result.stdout) == "lint --staged: no staged Go files"
    assert "==>" not in result.stdout  # no module was linted


def test_outside_a_git_repository_is_a_one_line_usage_error(make_project: MakeProject) -> None:
    project = make_project(git=False)
    # git must not find a repository above the temp folder either.
    env = {"GIT_CEILING_DIRECTORIES": str(project.root.parent)}
    before = project.tree_snapshot()
    for args in (("lint", "--staged"), ("hooks.install",), ("hooks.uninstall",)):
        result = project.inv(*args, env=env)
        assert result.returncode == 2, out(result)
        line = one_line(result.stderr)
        assert "is not in a git repository" in line and str(project.root) in line
        assert "Traceback" not in out(result)
    assert project.tree_snapshot() == before
    assert not (project.root / ".git").exists()


def test_staged_with_fix_is_a_usage_error(make_project: MakeProject) -> None:
    project = make_project()
    stage(project, "hello/greet/ugly.go", UGLY)
    before = project.tree_snapshot()
    result = project.inv("lint", "--staged", "--fix")
    assert result.returncode == 2, out(result)
    assert "--staged" in one_line(result.stderr)
    assert project.tree_snapshot() == before


def test_only_modules_with_staged_files_are_linted(make_project: MakeProject) -> None:
    project = make_project(example=False)
    two_modules(project)
    project.commit_all("modules")
    stage(project, "svc/a/ugly.go", UGLY.replace("package greet", "package a"))
    result = project.inv("lint", "--staged")
    assert result.returncode == 1, out(result)
    assert re.findall(r"^==> lint --staged (\S+)", result.stdout, re.MULTILINE) == ["svc/a"]
    assert f"svc/a/ugly.go:{UGLY_LINE}: not gofmt-formatted" in result.stdout
    assert "lint --staged (svc/a): 1 problem in staged files; commit refused" in result.stderr


def test_a_project_in_a_subfolder_of_the_repository(make_project: MakeProject) -> None:
    """The hook cds from the top level to the gotasks root; paths are shown from there."""
    project = make_project(git=False, name="repo")
    sub = project.root / "tools"
    sub.mkdir()
    for name in ("tasks.py", "config", "invoke.yaml", "hello"):
        shutil.move(project.root / name, sub / name)
    gotasks = Project(sub)
    project.git("init", "-q", "-b", "main")
    project.commit_all("initial")
    installed = gotasks.inv("hooks.install")
    assert installed.returncode == 0, out(installed)
    hook = (project.root / ".git" / "hooks" / "pre-commit").read_text()
    assert '"$top"/tools' in hook
    stage(project, "tools/hello/greet/ugly.go", UGLY)
    refused = commit(project)
    assert refused.returncode != 0, out(refused)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(refused)
    project.git("rm", "-q", "--cached", "tools/hello/greet/ugly.go")
    stage(project, "tools/hello/greet/extra.go", CLEAN)
    # From a subfolder too: git runs the hook from the top level.
    accepted = commit(project, cwd=sub / "hello")
    assert accepted.returncode == 0, out(accepted)


def test_a_deleted_file_has_its_package_vetted(hooked: Project) -> None:
    """greet_test.go uses the Edition that edition_default.go declares: without it the
    package no longer builds."""
    before = head(hooked)
    hooked.git("rm", "-q", "hello/greet/edition_default.go")
    result = commit(hooked)
    assert result.returncode != 0, out(result)
    assert "go vet ./greet:" in out(result)
    assert re.search(r"^(vet: )?hello/greet/greet_test\.go:76:\d+: .*Edition", out(result), re.M)
    assert "gofmt" not in out(result)  # nothing staged to format
    assert head(hooked) == before


def test_a_type_changed_file_has_its_package_vetted_not_formatted(hooked: Project) -> None:
    path = hooked.root / "hello" / "greet" / "edition_default.go"
    path.unlink()
    path.symlink_to("../README.md")
    hooked.git("add", "hello/greet/edition_default.go")
    assert hooked.git("diff", "--cached", "--name-status") == "T\thello/greet/edition_default.go"
    result = hooked.inv("lint", "--staged")
    assert result.returncode == 1, out(result)
    assert "go vet ./greet:" in out(result)
    assert "gofmt" not in out(result)


def test_a_deleted_folder_leaves_nothing_to_vet(hooked: Project) -> None:
    hooked.git("rm", "-q", "-r", "hello/stats")  # nothing imports it
    result = hooked.inv("lint", "--staged")
    assert result.returncode == 0, out(result)
    assert one_line(result.stdout) == "lint --staged: no staged Go files"
    accepted = commit(hooked)
    assert accepted.returncode == 0, out(accepted)


def test_a_renamed_file_has_both_packages_vetted(hooked: Project) -> None:
    hooked.git("mv", "hello/greet/edition_default.go", "hello/stats/edition_default.go")
    result = hooked.inv("lint", "--staged")
    assert result.returncode == 1, out(result)  # greet lost Edition; stats got a greet file
    assert "go vet ./greet ./stats:" in out(result)


def test_a_staged_go_work_vets_the_modules_of_its_workspace(make_project: MakeProject) -> None:
    project = make_project(example=False)
    two_modules(project)
    project.write("go.work", "go 1.21\n\nuse (\n\t./lib/b\n\t./svc/a\n)\n")
    project.commit_all("a workspace")
    stage(project, "go.work", project.root.joinpath("go.work").read_text() + "// changed\n")
    result = project.inv("lint", "--staged")
    assert result.returncode == 0, out(result)
    headers = re.findall(r"^==> lint --staged (\S+)", result.stdout, re.MULTILINE)
    assert sorted(headers) == ["lib/b", "svc/a"], result.stdout
    assert result.stdout.count("ok   go vet ./...") == 2, result.stdout


def test_the_pre_commit_filter_takes_every_go_file() -> None:
    config = yaml.safe_load((SOURCE / ".pre-commit-config.yaml").read_text())
    pattern = re.compile(config["repos"][0]["hooks"][0]["files"])
    for path in ("main.go", "a/b.go", "go.mod", "a/go.sum", "go.work", "go.work.sum", "a/go.work"):
        assert pattern.search(path), path
    for path in ("README.md", "go.mod.orig", "notgo.mod", "cargo.work", "go.works"):
        assert not pattern.search(path), path


def test_a_repository_of_another_user_is_one_line_naming_the_fix(
    make_project: MakeProject,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving the repository to another user needs root")
    project = make_project()
    stage(project, "hello/greet/ugly.go", UGLY)
    for path in (project.root, project.root / ".git"):
        os.chown(path, 65534, 65534)
    # No safe.directory from the machine's own git config.
    env = {"GIT_CONFIG_GLOBAL": os.devnull}
    for args, prefix in (
        (("lint", "--staged"), "lint --staged"),
        (("hooks.install",), "hooks.install"),
    ):
        result = project.inv(*args, env=env)
        assert result.returncode == 2, out(result)
        assert one_line(result.stderr) == (
            f"{prefix}: git refuses {project.root}: dubious ownership (owned by another"
            f" user); if you trust it: git config --global --add safe.directory {project.root}"
        )


def test_gits_dubious_ownership_refusal_becomes_one_line() -> None:
    # git 2.39's words.
    said = (
        "fatal: detected dubious ownership in repository at '/srv/my repo'\n"
        "To add an exception for this directory, call:\n\n"
        "\tgit config --global --add safe.directory '/srv/my repo'\n"
    )
    assert gitcalls._refusal(said) == (
        "git refuses /srv/my repo: dubious ownership (owned by another user); if you trust"
        " it: git config --global --add safe.directory '/srv/my repo'"
    )
    alone = "fatal: detected dubious ownership in repository at '/a b'\n"
    assert (gitcalls._refusal(alone) or "").endswith("safe.directory '/a b'")
    assert gitcalls._refusal("fatal: not a git repository (or any parent)") is None


def test_each_run_in_one_process_asks_git_afresh(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(example=False)
    two_modules(project)
    project.commit_all("modules")
    for _ in range(2):
        assert inv_in_process(project, monkeypatch, "lint", "--staged") == 0
        # Two modules' tasks, one line.
        assert capsys.readouterr().out.count("no staged Go files") == 1
        assert inv_in_process(project, monkeypatch, "lint", "--staged", "--fix") == 2
        assert "--staged" in one_line(capsys.readouterr().err)
    stage(project, "svc/a/ugly.go", UGLY.replace("package greet", "package a"))
    assert inv_in_process(project, monkeypatch, "lint", "--staged") == 1
    assert f"svc/a/ugly.go:{UGLY_LINE}: not gofmt-formatted" in capsys.readouterr().out
    stage(project, "svc/a/ugly.go", CLEAN.replace("package greet", "package a"))
    assert inv_in_process(project, monkeypatch, "lint", "--staged") == 0
    assert "ok   gofmt (1 staged file)" in capsys.readouterr().out


# -- hooks.install / hooks.uninstall ----------------------------------------------------------


def test_install_writes_an_executable_hook_that_names_itself(hooked: Project) -> None:
    hook = hooked.root / ".git" / "hooks" / "pre-commit"
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\n") and MARKER in text
    assert f"python={sys.executable}" in text or f"python='{sys.executable}'" in text
    again = hooked.inv("hooks.install")  # ours: rewritten, nothing kept
    assert again.returncode == 0, out(again)
    assert not (hook.parent / "pre-commit.bak").exists()


def test_install_refuses_a_foreign_hook_and_force_keeps_it(make_project: MakeProject) -> None:
    project = make_project()
    hook = project.root / ".git" / "hooks" / "pre-commit"
    foreign = "#!/bin/sh\necho someone else's hook\n"
    hook.write_text(foreign)
    hook.chmod(0o755)
    refused = project.inv("hooks.install")
    assert refused.returncode == 2, out(refused)
    line = one_line(refused.stderr)
    assert str(hook) in line and "--force" in line
    assert hook.read_text() == foreign
    assert not (hook.parent / "pre-commit.bak").exists()
    # uninstall leaves a hook it did not write
    kept = project.inv("hooks.uninstall")
    assert kept.returncode == 0, out(kept)
    assert hook.read_text() == foreign
    forced = project.inv("hooks.install", "--force")
    assert forced.returncode == 0, out(forced)
    assert (hook.parent / "pre-commit.bak").read_text() == foreign
    assert MARKER in hook.read_text()
    removed = project.inv("hooks.uninstall")
    assert removed.returncode == 0, out(removed)
    assert not hook.exists()
    assert (hook.parent / "pre-commit.bak").read_text() == foreign


def test_install_honours_core_hooks_path(make_project: MakeProject) -> None:
    project = make_project()
    project.git("config", "core.hooksPath", ".githooks")
    result = project.inv("hooks.install")
    assert result.returncode == 0, out(result)
    assert MARKER in (project.root / ".githooks" / "pre-commit").read_text()
    assert not (project.root / ".git" / "hooks" / "pre-commit").exists()
    stage(project, "hello/greet/ugly.go", UGLY)
    refused = commit(project)
    assert refused.returncode != 0, out(refused)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(refused)


def test_the_hook_is_executable_before_it_takes_its_name(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """git skips a hook that is not executable: no moment may show one under its name."""
    modes: dict[str, int] = {}
    real_replace = os.replace

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        modes[Path(target).name] = stat.S_IMODE(os.stat(source).st_mode)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    atomic_write_text(tmp_path / "script", "#!/bin/sh\n", mode=0o755)
    atomic_write_text(tmp_path / "plain", "text\n")
    assert modes == {"script": 0o755, "plain": 0o666 & ~current_umask()}
    project = make_project()
    assert inv_in_process(project, monkeypatch, "hooks.install") == 0
    assert modes["pre-commit"] == 0o755


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_install_refuses_a_hooks_path_other_repositories_share(
    make_project: MakeProject, tmp_path: Path
) -> None:
    project = make_project()
    shared = tmp_path / "machine-hooks"
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f"[core]\n\thooksPath = {shared}\n")
    env = {"GIT_CONFIG_GLOBAL": str(gitconfig)}
    before = project.tree_snapshot()
    refused = project.inv("hooks.install", env=env)
    assert refused.returncode == 2, out(refused)
    line = one_line(refused.stderr)
    assert str(shared) in line and "outside this repository" in line and "--force" in line
    assert not shared.exists()
    assert project.tree_snapshot() == before
    forced = project.inv("hooks.install", "--force", env=env)
    assert forced.returncode == 0, out(forced)
    assert MARKER in (shared / "pre-commit").read_text()
    # Another repository of the machine: the hook leaves its commits alone.
    other = tmp_path / "other"
    other.mkdir()
    assert run_git(other, "init", "-q", "-b", "main", env=env).returncode == 0
    (other / "ugly.go").write_text(UGLY)
    assert run_git(other, "add", "ugly.go", env=env).returncode == 0
    theirs = run_git(other, "commit", "-q", "-m", "theirs", env=env)
    assert theirs.returncode == 0 and out(theirs) == "", out(theirs)
    # This one is still checked.
    stage(project, "hello/greet/ugly.go", UGLY)
    ours = commit(project, env=env)
    assert ours.returncode != 0, out(ours)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(ours)


def test_the_hook_follows_a_moved_clone_and_its_worktrees(hooked: Project, tmp_path: Path) -> None:
    moved = Project(tmp_path / "moved")
    shutil.move(hooked.root, moved.root)
    stage(moved, "hello/greet/ugly.go", UGLY)
    refused = commit(moved)
    assert refused.returncode != 0, out(refused)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(refused)
    moved.git("rm", "-q", "--cached", "hello/greet/ugly.go")
    # A linked worktree (another top level) shares the hook.
    worktree = Project(tmp_path / "worktree")
    moved.git("worktree", "add", "-q", str(worktree.root), "-b", "side")
    stage(worktree, "hello/greet/ugly.go", UGLY)
    in_worktree = commit(worktree)
    assert in_worktree.returncode != 0, out(in_worktree)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(in_worktree)
    # Its hooks folder is the repository's own: installing from there is no refusal.
    installed = worktree.inv("hooks.install")
    assert installed.returncode == 0, out(installed)
    assert str(moved.root / ".git" / "hooks" / "pre-commit") in installed.stdout


# -- the pre-commit framework -------------------------------------------------------------------


def test_the_pre_commit_framework_runs_the_shipped_hook(
    make_project: MakeProject, tmp_path: Path
) -> None:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.fail("pre-commit is not installed: pip install -e '.[dev]'")
    project = make_project()
    shutil.copy2(SOURCE / ".pre-commit-config.yaml", project.root / ".pre-commit-config.yaml")
    project.commit_all("pre-commit config")
    # The entry is `inv`: this python's, as a venv puts it on PATH. pre-commit keeps its
    # stashes and cache in PRE_COMMIT_HOME.
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    install = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=project.root,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, out(install)
    before = head(project)
    stage(project, "hello/greet/ugly.go", UGLY)
    refused = commit(project, env=env)
    assert refused.returncode != 0, out(refused)
    assert "gotasks-lint" in out(refused)
    assert f"hello/greet/ugly.go:{UGLY_LINE}: not gofmt-formatted" in out(refused)
    assert head(project) == before
    # The framework stashes what is not staged: an unformatted work-tree copy cannot block.
    stage(project, "hello/greet/ugly.go", UGLY.replace("func  Ugly( )", "func Ugly()"))
    project.write("hello/greet/ugly.go", UGLY)
    accepted = commit(project, env=env)
    assert accepted.returncode == 0, out(accepted)
    assert head(project) != before
    assert (project.root / "hello" / "greet" / "ugly.go").read_text() == UGLY
