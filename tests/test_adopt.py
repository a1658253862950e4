"""`inv init PATH`: gotasks put into a copy of a real public Go module; `inv ci` works there,
nothing of the user's is overwritten, and bad input or a failed write leaves nothing behind."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import (
    GO_ENV,
    MODULE,
    SOURCE,
    Project,
    clean_env,
    module_from_cache,
    require_go,
    statuses,
    user_repo,
    without_golangci_lint,
)

from gotasks import adoptplan, adoptwrite, versionrecord
from gotasks.core.errors import TaskFailed

MakeProject = Callable[..., Project]


@pytest.fixture(autouse=True)
def _go_present() -> None:
    require_go()


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every folder (None) and file (its bytes) under root but .git and bytecode."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
        if not {".git", "__pycache__"} & set(p.relative_to(root).parts)
    }


def line_of(out: subprocess.CompletedProcess[str], prefix: str) -> str:
    return next((x for x in out.stdout.splitlines() if x.startswith(prefix)), "")


WRITTEN = (
    r"tasks\.py, invoke\.yaml, config/ \(4 files\), Dockerfile, \.dockerignore,"
    r" \.pre-commit-config\.yaml"
)


@pytest.mark.e2e
def test_init_then_ci_in_a_copy_of_a_real_module(make_project: MakeProject, tmp_path: Path) -> None:
    origin = module_from_cache(tmp_path / "scratch")
    repo = user_repo(tmp_path / "uuid", origin=origin)
    gotasks = make_project(example=False)

    # A relative PATH, from a gotasks project, as a user types it.
    out = gotasks.inv("init", "../uuid")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(f"written: {WRITTEN}", line_of(out, "written: ")), out.stdout
    assert (
        line_of(out, ".gitignore: ")
        == ".gitignore: added /.gotasks/, /dist/, __pycache__/, /.venv/"
    )
    assert "skipped" not in out.stdout and "removed" not in out.stdout
    # gotasks is not copied: the repository gets the thin loader and its settings.
    assert not (repo.root / "tasks").exists() and not (repo.root / "gotasks").exists()
    for rel in adoptplan.TEMPLATE_FILES:
        assert (repo.root / rel).read_bytes() == adoptplan.template_text(rel), rel
    assert "import gotasks" in (repo.root / "tasks.py").read_text()
    assert versionrecord.recorded(repo.root) == (gotasks_version(), 7)
    assert "main packages: none (a library)" in out.stdout
    assert "inv ci" in out.stdout.split("next steps", 1)[1]

    env = {**GO_ENV, "PATH": without_golangci_lint()}
    first = repo.inv("ci", "--keep-going", env=env)
    ran = statuses(first.stdout)
    assert ran.get("test[uuid]") == "ok" and ran.get("build[uuid]") == "ok", (
        first.stdout + first.stderr
    )
    assert "no main package: nothing to build" in first.stdout
    if first.returncode != 0:
        # uuid v1.6.0 predates gofmt's doc-comment and //go:build rewrites (Go 1.17, 1.19).
        assert ran.get("lint[uuid]") == "FAIL" and "gofmt" in first.stdout, first.stdout
        subprocess.run(["gofmt", "-w", "."], cwd=repo.root, check=True)

    repo.commit_all("adopt gotasks")
    out = repo.inv("ci", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    ran = statuses(out.stdout)
    assert [ran.get(t) for t in ("lint[uuid]", "test[uuid]", "build[uuid]", "ci")] == ["ok"] * 4, (
        out.stdout
    )
    assert f"==> test uuid ({MODULE}) [dev, go" in out.stdout
    # What a run leaves (.gotasks/, bytecode) is ignored: the next build is not -dirty.
    assert repo.git("status", "--porcelain") == ""

    before = snapshot(repo.root)
    again = gotasks.inv("init", str(repo.root))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == (
        f"inv init: gotasks {gotasks_version()} is already set up in {repo.root}; nothing changed\n"
    )
    assert snapshot(repo.root) == before


def gotasks_version() -> str:
    import gotasks

    return gotasks.__version__


def test_the_users_files_are_kept_byte_for_byte(make_project: MakeProject, tmp_path: Path) -> None:
    mine = {
        "tasks.py": "from invoke import task\n\n\n@task\ndef hello(c):\n    print('mine')\n",
        "config/dev.yaml": "# my dev settings\ngo:\n  tags: [mine]\n",
        "Dockerfile": "FROM scratch\n",
        # no newline at the end; `dist/` already ignores /dist/
        ".gitignore": "*.log\ndist/",
    }
    repo = user_repo(tmp_path / "mine", mine)
    gotasks = make_project(example=False)

    out = gotasks.inv("init", str(repo.root))
    assert out.returncode == 0, out.stdout + out.stderr
    for rel, text in mine.items():
        if rel != ".gitignore":
            assert (repo.root / rel).read_text() == text, rel
    gitignore = (repo.root / ".gitignore").read_text()
    assert gitignore.startswith(mine[".gitignore"] + "\n")
    assert gitignore.endswith("/.gotasks/\n__pycache__/\n/.venv/\n") and "/dist/" not in gitignore
    assert line_of(out, ".gitignore: ") == ".gitignore: added /.gotasks/, __pycache__/, /.venv/"
    assert (
        line_of(out, "skipped (yours, kept): ")
        == "skipped (yours, kept): tasks.py, config/dev.yaml, Dockerfile"
    )
    written = line_of(out, "written: ")
    assert "invoke.yaml" in written and "config/base.yaml" in written
    assert written.endswith(".dockerignore, .pre-commit-config.yaml"), written
    assert "config/dev.yaml" not in written and "config/ (" not in written
    assert "note: your tasks.py does not load gotasks" in out.stdout
    assert "pre-commit install" in out.stdout
    assert (repo.root / ".dockerignore").read_bytes() == adoptplan.template_text(".dockerignore")

    # Nothing left to write: the rerun says what still needs the user, in one line.
    again = gotasks.inv("init", str(repo.root))
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(again.stdout.splitlines()) == 1, again.stdout
    assert "nothing to change" in again.stdout and "does not load gotasks" in again.stdout


def test_a_go_work_at_the_top_is_a_go_repository(make_project: MakeProject, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (root / "go.work").write_text("go 1.21\n\nuse ./svc\n")
    (root / "svc").mkdir()
    (root / "svc" / "go.mod").write_text("module example.com/svc\n\ngo 1.21\n")
    out = make_project(example=False).inv("init", str(root))
    assert out.returncode == 0, out.stdout + out.stderr
    assert (root / "tasks.py").is_file() and (root / "config" / "base.yaml").is_file()


def test_init_into_a_module_in_a_subfolder_of_a_repository_says_hooks_install(
    make_project: MakeProject, tmp_path: Path
) -> None:
    """pre-commit runs hooks from the repository's top, where gotasks is not."""
    repo = user_repo(tmp_path / "mono", {"svc/go.mod": "module example.com/svc\n\ngo 1.21\n"})
    gotasks = make_project(example=False)
    out = gotasks.inv("init", str(repo.root / "svc"))
    assert out.returncode == 0, out.stdout + out.stderr
    steps = out.stdout.split("next steps", 1)[1]
    assert "pre-commit install" not in steps
    hint = one_line_with(steps, "inv hooks.install")
    assert str(repo.root) in hint and "not pre-commit" in hint, hint
    assert (repo.root / "svc" / "tasks.py").is_file()
    assert not (repo.root / "svc" / ".pre-commit-config.yaml").exists()


def one_line_with(text: str, words: str) -> str:
    found = [line for line in text.splitlines() if words in line]
    assert len(found) == 1, text
    return found[0]


EMBED = 'package config\n\nimport "embed"\n\n//go:embed *.yaml\nvar Files embed.FS\n'
APP_YAML = "database:\n  host: db.internal\nlisten: :8080\n"
# The repository's own tasks/ and config/: (files, words of the refusal).
TAKEN = {
    "a config package": (
        {"config/embed.go": EMBED, "config/dev.yaml": APP_YAML},
        "config is a Go package of yours (config/embed.go)",
    ),
    "app YAML in config": (
        {"config/app.yaml": APP_YAML},
        "config holds YAML that is not a gotasks env file (config/app.yaml:1: unknown key"
        " 'database'",
    ),
    "YAML that is not a mapping": (
        {"config/routes.yaml": "- /\n- /health\n"},
        "config holds YAML that is not a gotasks env file (config/routes.yaml:1: expected a"
        " mapping of settings)",
    ),
}


@pytest.mark.parametrize("case", TAKEN)
def test_the_repositorys_own_tasks_or_config_folder_is_refused(
    make_project: MakeProject, tmp_path: Path, case: str
) -> None:
    files, words = TAKEN[case]
    repo = user_repo(tmp_path / "app", files)
    before = snapshot(repo.root)
    out = make_project(example=False).inv("init", str(repo.root))
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("inv init: "), line
    assert f"{repo.root}/{words}" in line and line.endswith("; nothing written"), line
    assert snapshot(repo.root) == before


def test_gotasks_env_files_of_the_repository_are_no_refusal(
    make_project: MakeProject, tmp_path: Path
) -> None:
    envs = {
        "config/base.yaml": "go:\n  env:\n    GOPRIVATE: example.com/*\n",
        "config/ci.yaml": "lint:\n  golangci_lint: required\n",
        "config/empty.yaml": "# nothing yet\n",
    }
    repo = user_repo(tmp_path / "mine", envs)
    out = make_project(example=False).inv("init", str(repo.root))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "config/base.yaml" in line_of(out, "skipped (yours, kept): ")


def test_the_test_projects_and_this_repository_have_what_init_writes(
    make_project: MakeProject,
) -> None:
    """conftest's projects and this repository (gotasks' first user) have init's own
    tasks.py and invoke.yaml, byte for byte; this repository's Dockerfile and .dockerignore
    are the ones init writes."""
    project = make_project(example=False, git=False)
    for rel in ("tasks.py", "invoke.yaml"):
        assert (project.root / rel).read_bytes() == adoptplan.template_text(rel), rel
    for rel in ("tasks.py", "invoke.yaml", "Dockerfile", ".dockerignore"):
        assert (SOURCE / rel).read_bytes() == adoptplan.template_text(rel), rel
    gitignore = (project.root / ".gitignore").read_text().splitlines()
    assert set(adoptplan.GITIGNORE_LINES) <= set(gitignore)


def test_the_templates_are_in_the_wheel() -> None:
    """pyproject's package-data names every template and the shipped manifest: a wheel
    install (no checkout) has what init writes."""
    data = tomllib.loads((SOURCE / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["gotasks"]
    package = SOURCE / "gotasks"
    needed = [*(adoptplan.TEMPLATES / t for t in adoptplan.TEMPLATE_FILES.values())]
    needed += list((package / "shipped").iterdir())
    for path in needed:
        rel = path.relative_to(package).as_posix()
        assert any(Path(rel).match(p) or rel == p for p in patterns), rel


BAD_PATHS = {
    "missing": ("nowhere", "does not exist"),
    "a file": ("file.txt", "is not a directory"),
    "not a module": ("plain", "is not a Go module (no go.mod or go.work)"),
}


@pytest.mark.parametrize("case", BAD_PATHS)
def test_bad_paths_are_one_line_exit_2_and_nothing_written(
    make_project: MakeProject, tmp_path: Path, case: str
) -> None:
    gotasks = make_project(example=False)
    # A go.mod beside gotasks itself, so that only "it is gotasks" can refuse it.
    gotasks.write("go.mod", "module example.com/gotasks\n\ngo 1.21\n")
    place = tmp_path / "place"
    place.mkdir()
    (place / "file.txt").write_text("a file\n")
    (place / "plain").mkdir()
    (place / "plain" / "main.go").write_text("package main\n\nfunc main() {}\n")
    rel, message = BAD_PATHS[case]
    path = gotasks.root if rel == "." else place / rel
    before = {root: snapshot(root) for root in (place, gotasks.root)}

    out = gotasks.inv("init", rel if rel == "." else str(path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("inv init: ") and message in out.stderr, out.stderr
    assert {root: snapshot(root) for root in (place, gotasks.root)} == before


# Root writes into a read-only folder anyway; without these capabilities it cannot.
DROP_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def refused_by(folder: Path) -> list[str] | None:
    """A command prefix under which a write into the read-only `folder` is refused: none,
    or for root setpriv without the override capabilities; None when nothing works here."""
    for prefix in ([], DROP_OVERRIDE):
        if prefix and shutil.which(prefix[0]) is None:
            continue
        probe = subprocess.run(
            [*prefix, "touch", str(folder / ".probe")], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            (folder / ".probe").unlink()
        elif "Permission denied" in probe.stderr:
            return prefix
    return None


def test_a_read_only_folder_fails_and_leaves_nothing_of_the_run(
    make_project: MakeProject, tmp_path: Path
) -> None:
    repo = user_repo(tmp_path / "mine", {".gitignore": "*.log\n"})
    gotasks = make_project(example=False)
    config = repo.root / "config"
    config.mkdir()
    config.chmod(0o555)
    try:
        prefix = refused_by(config)
        if prefix is None:
            pytest.skip("a read-only folder does not stop writes here (root without setpriv)")
        before = snapshot(repo.root)
        out = subprocess.run(
            [*prefix, sys.executable, "-m", "invoke", "init", str(repo.root)],
            cwd=gotasks.root,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 1, out.stdout + out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "cannot write" in out.stderr and "config/base.yaml" in out.stderr, out.stderr
        assert "took back what this run had done" in out.stderr
        assert snapshot(repo.root) == before
    finally:
        config.chmod(0o755)


@pytest.mark.parametrize("stage", ["a file", ".gitignore"])
def test_a_full_disk_half_way_takes_back_what_this_run_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """In-process, since no folder refuses root: the disk fills while one file is half
    written (or while .gitignore is appended to)."""
    repo = user_repo(tmp_path / "mine", {".gitignore": "*.log\n", "config/dev.yaml": "go: {}\n"})
    before = snapshot(repo.root)
    plan = adoptplan.make_plan(repo.root, repo.root)
    count = {"writes": 0}
    real_write_all = adoptwrite._write_all

    def write_all(fd: int, data: bytes) -> None:
        count["writes"] += 1
        last = count["writes"] == len(plan.writes) + 1
        if (stage == "a file" and count["writes"] == 4) or (stage == ".gitignore" and last):
            os.write(fd, data[:5])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "somewhere")
        real_write_all(fd, data)

    monkeypatch.setattr(adoptwrite, "_write_all", write_all)
    with pytest.raises(TaskFailed) as failure:
        adoptwrite.apply(repo.root, plan)
    message = str(failure.value)
    assert "\n" not in message and os.strerror(errno.ENOSPC) in message, message
    assert "took back what this run had done" in message
    assert snapshot(repo.root) == before
