"""--shard in real runs of the example: 3 shards' JUnit and coverage merged equal an
unsharded run's; stale plans; build shards; every bad input one line, exit 2."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project

from gotasks.go.covermerge import merge_files

pytestmark = pytest.mark.e2e

PACKAGES = {
    "example.com/hello/cmd/hello",
    "example.com/hello/greet",
    "example.com/hello/internal/buildinfo",
    "example.com/hello/stats",
}


def ok(project: Project, *args: str) -> str:
    out = project.inv(*args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def totals(path: Path) -> dict[str, str | None]:
    root = ET.parse(path).getroot()
    return {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")}


def suites(path: Path) -> list[str]:
    return [s.get("name", "") for s in ET.parse(path).getroot().findall("testsuite")]


def test_three_shards_merged_equal_an_unsharded_run(make_project: Callable[..., Project]) -> None:
    project = make_project()
    root = project.root
    ok(project, "test", "--cover", "--junit", "full/junit.xml")
    # The unsharded profile kept apart: the shards' folder holds only the shards' files.
    (root / ".gotasks/cover/hello.out").rename(root / "full/cover.out")
    plan = ok(project, "shard.plan", "--shards", "3", "--tasks", "test")
    (root / "plan.json").write_text(plan)
    seen: list[str] = []
    for i in (1, 2, 3):
        out = ok(
            project,
            "test",
            f"--shard={i}/3",
            "--shard-plan=plan.json",
            "--cover",
            "--junit=shards/junit.xml",
            "--trace=shards/trace.json",
        )
        assert f"shard {i}/3:" in out
        names = suites(root / f"shards/junit.shard-{i}-of-3.xml")
        assert names, f"shard {i} ran no package"
        seen += names
        shutil.move(root / f".gotasks/cover/hello.shard-{i}-of-3.out", root / "shards")
    assert sorted(seen) == sorted(PACKAGES)  # each package in exactly one shard
    merged = ok(project, "shard.merge", "shards")
    assert totals(root / ".gotasks/merged/junit.xml") == totals(root / "full/junit.xml")
    assert sorted(suites(root / ".gotasks/merged/junit.xml")) == sorted(PACKAGES)
    whole, parts = (
        merge_files([root / "full/cover.out"]),
        merge_files([root / ".gotasks/merged/cover.out"]),
    )
    assert whole is not None and parts is not None
    assert parts.statements() == whole.statements() and whole.statements()[0] > 0
    assert parts.blocks == whole.blocks
    for i in (1, 2, 3):
        assert f"shard {i}/3: " in merged and "wall time" in merged
    assert "imbalance (max/mean)" in merged


def test_a_stale_plan_still_runs_every_package_once_and_says_what_changed(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    root = project.root
    plan = {
        "kind": "gotasks shard plan",
        "version": 1,
        "shards": [
            {"shard": 1, "units": [{"name": "test[hello] ./stats", "seconds": 5}]},
            {"shard": 2, "units": [{"name": "test[hello] ./gone", "seconds": 1}]},
        ],
    }
    (root / "plan.json").write_text(json.dumps(plan))
    seen: list[str] = []
    for i in (1, 2):
        out = project.inv("test", f"--shard={i}/2", "--shard-plan=plan.json", "--junit=j.xml")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "3 unit(s) new since the plan, each to the lightest shard" in out.stderr
        assert "1 planned unit(s) no longer exist: test[hello] ./gone" in out.stderr
        seen += suites(root / f"j.shard-{i}-of-2.xml")
    assert sorted(seen) == sorted(PACKAGES)
    # stats (5 s) alone in shard 1; the three new ones (each the plan's median, 3 s) go
    # to the lighter shard each time: 2, 2, then 1
    assert suites(root / "j.shard-1-of-2.xml").count("example.com/hello/stats") == 1
    assert len(suites(root / "j.shard-2-of-2.xml")) == 2


def test_build_shards_build_their_targets_only(make_project: Callable[..., Project]) -> None:
    project = make_project()
    root = project.root
    (root / "plan.json").write_text(ok(project, "shard.plan", "--shards=2", "--tasks=build"))
    planned = json.loads((root / "plan.json").read_text())["shards"]
    for i in (1, 2):
        shutil.rmtree(root / "dist", ignore_errors=True)
        ok(project, "build", f"--shard={i}/2", "--shard-plan=plan.json")
        targets = {u["name"].split()[1].replace("/", "_") for u in planned[i - 1]["units"]}
        built = {p.name.removeprefix("hello_") for p in (root / "dist").iterdir() if p.is_dir()}
        assert built == targets
    # a shard of nothing passes, saying so in one line
    out = project.inv("build", "--shard=9/9")
    assert out.returncode == 0, out.stderr
    assert "shard 9/9: no units in this shard" in out.stdout


def test_ci_shards_split_lint_test_and_build(make_project: Callable[..., Project]) -> None:
    project = make_project()
    out = ok(project, "ci", "--shard=1/9")
    # 9 units (a lint, 4 packages, 4 targets) over 9 shards: one each, nothing known yet
    assert "shard 1/9: 1 of 9 units" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["test", "--shard=0/4"], "--shard 0/4: shards are numbered from 1 to 4"),
        (["test", "--shard=5/4"], "--shard 5/4: shards are numbered from 1 to 4"),
        (["test", "--shard=x"], "--shard: expected I/N"),
        (["test", "--shard=1/2", "--shard-plan=notes.txt"], "notes.txt:1: not a shard plan"),
        (["test", "--shard=1/2", "--shard-plan=plan3.json"], "plan3.json plans 3 shards, not 2"),
        (["test", "--shard-plan=plan3.json"], "--shard-plan: give --shard I/N too"),
        (["env", "--shard=1/2"], "nothing in this run splits into shards"),
        (["shard.plan"], "--shards must be 1 or more"),
        (
            ["shard.plan", "--shards=2", "--tasks=bench"],
            "the tasks that split are lint, test, build",
        ),
        (["shard.merge", "nowhere"], "nowhere is not a folder"),
        (["shard.merge", "empty"], "no JUnit file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make_project: Callable[..., Project], args: list[str], says: str
) -> None:
    project = make_project(git=False)
    project.write("notes.txt", "hello\n")
    (project.root / "empty").mkdir()
    plan = {
        "kind": "gotasks shard plan",
        "version": 1,
        "shards": [{"shard": i, "units": []} for i in (1, 2, 3)],
    }
    project.write("plan3.json", json.dumps(plan))
    out = project.inv(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert says in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_shard_from_the_environment_and_a_job_wide_variable_leaves_other_tasks_whole(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    out = project.inv("test", "--junit=j.xml", env={"GOTASKS_SHARD": "2/2"})
    assert out.returncode == 0, out.stderr
    assert "shard 2/2:" in out.stdout and (project.root / "j.shard-2-of-2.xml").exists()
    # GOTASKS_SHARD set for a whole CI job: inv env there is not sharded, and not refused
    out = project.inv("env", env={"GOTASKS_SHARD": "2/2"})
    assert out.returncode == 0, out.stderr
    out = project.inv("test", env={"GOTASKS_SHARD": "3/2"})
    assert out.returncode == 2 and "GOTASKS_SHARD 3/2" in out.stderr
