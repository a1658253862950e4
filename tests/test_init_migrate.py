"""`inv init` on a repository that adopted gotasks by copying (the layout before commit
1b08b57: tasks.py with the __path__ trick, invoke.yaml naming tasks.engine..., tasks/ of
gotasks' code): unchanged copies removed, edited ones kept, nothing changed by a dry run
or a rerun; the git ignore check; the version record and doctor's findings."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from helpers import SOURCE, Project, clean_env, require_go

from gotasks import adoptplan, doctor, ignorecheck, migrate, versionrecord
from gotasks.installsource import InstallSource

LAST_COPY_ERA = "d665796"
COPIED = ("tasks", "tasks.py", "invoke.yaml", "config", ".pre-commit-config.yaml")


def copy_era_tree(into: Path) -> None:
    """gotasks as `inv init` copied it at the last commit of the copy era (from git)."""
    archive = subprocess.run(
        ["git", "-C", str(SOURCE), "archive", "--format=tar", LAST_COPY_ERA, *COPIED],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.fail(f"this checkout has no commit {LAST_COPY_ERA}: {archive.stderr.decode()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".gotasks", "__pycache__"} & set(p.relative_to(root).parts)
    }


def test_the_manifest_has_every_file_of_the_last_copy_era_tree() -> None:
    listing = subprocess.run(
        ["git", "-C", str(SOURCE), "ls-tree", "-r", LAST_COPY_ERA, "--", *COPIED[:3]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(listing) > 60
    shipped = migrate.manifest()
    for line in listing:
        meta, path = line.split("\t", 1)
        data = subprocess.run(
            ["git", "-C", str(SOURCE), "cat-file", "blob", meta.split()[2]],
            capture_output=True,
            check=True,
        ).stdout
        assert hashlib.sha256(data).hexdigest() in shipped[path], path


def test_copies_are_told_apart_unchanged_edited_and_foreign(tmp_path: Path) -> None:
    copy_era_tree(tmp_path)
    lint = tmp_path / "tasks" / "lint.py"
    lines = lint.read_text().splitlines(keepends=True)
    lint.write_text("".join([*lines[:10], "# ours\n", "# ours too\n", *lines[11:]]))
    (tmp_path / "tasks" / "generate.py").write_text("print('ours')\n")
    era = migrate.survey_copies(tmp_path)
    assert era.found
    assert [e.summary() for e in era.edited] == [
        "tasks/lint.py: yours, kept (+2 -1 lines against gotasks' copy)"
    ]
    assert era.foreign == ["tasks/generate.py"]
    assert {"tasks.py", "invoke.yaml", "tasks/build.py"} <= set(era.unchanged)
    assert "tasks/lint.py" not in era.unchanged and not any(
        p.startswith("config/") for p in era.unchanged
    )
    assert sorted(era.leftovers()) == ["tasks/generate.py", "tasks/lint.py"]


def copy_adopted(root: Path) -> Project:
    """The example module with gotasks copied in, one copy edited, committed."""
    require_go()
    import shutil

    shutil.copytree(SOURCE / "examples" / "hello", root)
    copy_era_tree(root)
    repo = Project(root)
    repo.write(".gitignore", "/.gotasks/\n/dist/\n__pycache__/\n")
    with (root / "tasks" / "lint.py").open("a") as lint:
        lint.write("\n# our team's tweak\n")
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("gotasks copied in")
    return repo


@pytest.mark.e2e
def test_a_copy_adopted_repository_is_migrated_and_ci_runs(tmp_path: Path) -> None:
    repo = copy_adopted(tmp_path / "app")
    before = snapshot(repo.root)

    # The repository's tasks.py still loads the copy: the installed gotasks' init is run
    # as a module (`inv init` there would be the old copy's).
    plan = migrate_run(repo, ".", "--dry-run")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith(f"inv init --dry-run: the plan for {repo.root} (nothing changed)")
    assert "would remove: tasks/ (" in plan.stdout
    assert snapshot(repo.root) == before

    out = migrate_run(repo, ".")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "tasks/lint.py: yours, kept (+2 -0 lines against gotasks' copy)" in lines
    replaced = next(x for x in lines if x.startswith("replaced: "))
    assert "tasks.py (gotasks' copy, unchanged)" in replaced
    assert "invoke.yaml (gotasks' copy, unchanged)" in replaced
    assert ".pre-commit-config.yaml (gotasks' copy, unchanged)" in replaced
    # Only the edited copy is left of tasks/; config/ is the repository's, untouched.
    assert sorted(
        p.relative_to(repo.root).as_posix() for p in (repo.root / "tasks").rglob("*")
    ) == ["tasks/lint.py"]
    assert (repo.root / "tasks" / "lint.py").read_bytes() == before["tasks/lint.py"]
    for rel, data in before.items():
        if rel.startswith("config/"):
            assert (repo.root / rel).read_bytes() == data, rel
    for rel in ("tasks.py", "invoke.yaml"):
        assert (repo.root / rel).read_bytes() == adoptplan.template_text(rel), rel
    assert "language: python" in (repo.root / ".pre-commit-config.yaml").read_text()

    # The installed gotasks (this checkout, on PYTHONPATH) runs the migrated repository.
    repo.commit_all("gotasks installed, not copied")
    ci = repo.inv("ci")
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert "==> build hello" in ci.stdout

    again = repo.inv("init", ".")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == [
        f"inv init: gotasks {versionrecord_version()} is already set up in {repo.root};"
        " nothing changed (1 file(s) of yours kept in tasks/ from the copy era)"
    ]


def migrate_run(repo: Project, *args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "gotasks.adopt", *args],
        cwd=repo.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def versionrecord_version() -> str:
    import gotasks

    return gotasks.__version__


@pytest.mark.e2e
def test_an_edited_copy_era_loader_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    repo = copy_adopted(tmp_path / "app")
    with (repo.root / "tasks.py").open("a") as loader:
        loader.write("\n\n@task\ndef mine(c):\n    pass\n")
    before = snapshot(repo.root)
    out = migrate_run(repo, ".")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(
        "inv init: tasks.py is gotasks' old loader with your edits (+5 -0 lines)"
    ), out.stderr
    assert snapshot(repo.root) == before


def user_repo(root: Path, gitignore: str) -> Project:
    repo = Project(root)
    repo.write("go.mod", "module example.com/app\n\ngo 1.21\n")
    repo.write(".gitignore", gitignore)
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("app")
    return repo


IGNORES = {
    # yq's .gitignore: an env file hidden by a name pattern.
    "a name pattern": (
        "*.log\nbin/\ntest*.yaml\n",
        ".gitignore:3: test*.yaml",
        ["!/config/*.yaml"],
    ),
    # A whole folder: its files come back only with the folder.
    "the folder": ("config/\n", ".gitignore:1: config/", ["!/config/", "!/config/*.yaml"]),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", IGNORES)
def test_what_git_would_ignore_is_refused_then_fixed_with_fix_ignore(
    make_project: object, tmp_path: Path, case: str
) -> None:
    gitignore, rule, fix = IGNORES[case]
    repo = user_repo(tmp_path / "app", gitignore)
    before = snapshot(repo.root)
    out = _init(repo, ".")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"inv init: {rule} hides config/"), out.stderr
    assert f"fix: inv init . --fix-ignore (appends {', '.join(fix)} to .gitignore)" in out.stderr
    assert snapshot(repo.root) == before

    out = _init(repo, ".", "--fix-ignore")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (repo.root / ".gitignore").read_text().endswith("".join(f"{x}\n" for x in fix))
    repo.git("add", "-A")
    staged = repo.git("diff", "--cached", "--name-only").splitlines()
    assert {f"config/{env}.yaml" for env in ("base", "dev", "test", "prod")} <= set(staged)


def _init(repo: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`inv init` in a Go repository that has no tasks.py yet: invoke finds none there, so
    it runs from gotasks' own checkout, as `inv --search-root` would."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(SOURCE), "init", *args],
        cwd=repo.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_fix_lines_are_the_narrowest_that_work() -> None:
    hidden = [
        ignorecheck.Hidden("config/test.yaml", ".gitignore", 3, "test*.yaml"),
        ignorecheck.Hidden("config/testing.yaml", ".gitignore", 3, "test*.yaml"),
        ignorecheck.Hidden("Dockerfile", ".git/info/exclude", 1, "Docker*"),
    ]
    assert ignorecheck.fix_lines(hidden) == ["!/config/*.yaml", "!/Dockerfile"]


def test_the_version_record_is_read_rewritten_and_compared(tmp_path: Path) -> None:
    text = adoptplan.template_text("invoke.yaml").decode()
    (tmp_path / "invoke.yaml").write_text(versionrecord.with_record(text, "0.1.9"))
    assert versionrecord.recorded(tmp_path) == ("0.1.9", 7)
    assert versionrecord.with_record(text, versionrecord_version()) == text
    assert versionrecord.recorded(tmp_path / "nowhere") is None
    assert versionrecord.comparison("0.10.0", "0.9.1") == 1
    assert versionrecord.comparison("0.2.0", "0.2.0") == 0
    assert versionrecord.comparison("0.2.0", "0.2.1") == -1


@pytest.mark.parametrize(
    ("source", "command"),
    [
        (InstallSource("index", "gotasks==0.2.0"), "python3 -m pip install -U 'gotasks>=0.3.0'"),
        (InstallSource("editable", "/src/gotasks"), "git -C /src/gotasks pull"),
        (
            InstallSource("vcs", "gotasks @ git+https://host/gotasks.git@abc123"),
            "python3 -m pip install -U 'gotasks @ git+https://host/gotasks.git'",
        ),
    ],
)
def test_the_upgrade_command_follows_the_install(source: InstallSource, command: str) -> None:
    assert doctor.upgrade_command(source, "0.3.0").startswith(command)


@pytest.mark.e2e
def test_doctor_names_the_version_and_the_envs_git_does_not_have(make_project: object) -> None:
    project = make_project(example=False)  # type: ignore[operator]
    installed = versionrecord_version()
    out = project.inv("doctor")
    assert f"ok   gotasks: {installed}, as invoke.yaml:7 records" in out.stdout, out.stdout
    assert "ok   config: every env file is in git (4)" in out.stdout

    invoke = project.root / "invoke.yaml"
    invoke.write_text(versionrecord.with_record(invoke.read_text(), "99.0"))
    project.write(".gitignore", project.root.joinpath(".gitignore").read_text() + "test*.yaml\n")
    project.git("rm", "-q", "--cached", "config/test.yaml")
    project.write("config/extra.yaml", "# later\n")
    out = project.inv("doctor")
    assert out.returncode == 1, out.stdout + out.stderr
    assert (
        f"warn gotasks: installed {installed} is older than the 99.0 this repository was set up"
        " with (invoke.yaml:7); upgrade: " in out.stdout
    ), out.stdout
    assert (
        "FAIL config: .gitignore:5: test*.yaml hides config/test.yaml: git leaves it out of"
        " every commit, so a teammate's clone has no env test; fix: add !/config/*.yaml to"
        " .gitignore" in out.stdout
    ), out.stdout
    assert "warn config: envs on disk but not in git: extra (config/extra.yaml); git add them" in (
        out.stdout
    )

    invoke.write_text(versionrecord.with_record(invoke.read_text(), "0.0.1"))
    out = project.inv("doctor")
    assert (
        "is newer than the 0.0.1 this repository was set up with (invoke.yaml:7); record it:"
        " inv init ." in out.stdout
    ), out.stdout
