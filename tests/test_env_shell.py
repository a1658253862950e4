"""`eval "$(inv env)"` runs nothing but exports: hostile names and values, eval'd by bash."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, clean_env, require_go

pytestmark = pytest.mark.e2e

MakeProject = Callable[..., Project]
INV = f"{shlex.quote(sys.executable)} -m invoke"
GO_VARS = ("GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOFLAGS", "GOINSECURE")


@pytest.fixture(autouse=True)
def _no_inherited_go_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    require_go()
    for name in GO_VARS:
        monkeypatch.delenv(name, raising=False)


def hostile(marker: Path) -> list[str]:
    """Values that run `touch MARKER` if any reaches a shell unquoted, in every way a shell
    could be made to: substitution, a quote closed early, a new line, a separator."""
    m = shlex.quote(str(marker))
    return [
        f"$(touch {m})",
        f"`touch {m}`",
        f"'; touch {m}; '",
        f'"; touch {m}; "',
        f"x\ntouch {m}\n",
        f"x; touch {m}",
        f"x\r\ntouch {m} #",
    ]


def eval_env(
    project: Project, env: dict[str, str], *args: str, after: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'out="$({INV} env {" ".join(args)})" || exit 99; eval "$out"; {after}'],
        cwd=project.root,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_hostile_values_reach_the_shell_quoted_and_come_back_whole(
    make_project: MakeProject, tmp_path: Path
) -> None:
    """dev keeps the user's own GOPROXY and GOFLAGS: each hostile value goes into the shell
    and comes back exactly, and no command of it ran."""
    project = make_project(git=False)
    marker = tmp_path / "ran"
    for value in hostile(marker):
        result = eval_env(
            project,
            {"GOPROXY": value, "GONOSUMDB": value},
            after='printf "%s" "$GONOSUMDB"',
        )
        assert not marker.exists(), f"{value!r} ran a command: {result.stderr}"
        if "\n" in value:
            # go's variables take no line breaks: refused, one line, exit 2.
            assert result.returncode == 99, result.stderr
            continue
        assert result.returncode == 0, (value, result.stderr)
        assert result.stdout == value


def test_hostile_tags_in_goflags_stay_in_the_comment(
    make_project: MakeProject, tmp_path: Path
) -> None:
    project = make_project(git=False)
    marker = tmp_path / "ran"
    for value in hostile(marker):
        if "\n" in value:
            continue
        flags = f"-tags={value.replace(' ', '_')}"
        result = eval_env(project, {"GOFLAGS": flags}, after='printf "%s" "$GOTASKS_TAGS"')
        assert not marker.exists(), f"{flags!r} ran a command: {result.stderr}"
        assert result.returncode == 0, result.stderr


def test_a_crafted_gotasks_shell_record_runs_nothing(
    make_project: MakeProject, tmp_path: Path
) -> None:
    """GOTASKS_SHELL comes from the environment: a name in it that is not a plain word is
    ignored (never printed as `unset NAME`), a saved value is quoted."""
    project = make_project(git=False)
    marker = tmp_path / "ran"
    m = shlex.quote(str(marker))
    bad_names = [f"X;touch {m};Y", f"X$(touch {m})", f"X\ntouch {m}", "X Y", "1X"]
    exported = {name: "v" for name in bad_names}
    # GOINSECURE is not set by dev: the undo puts back the saved (hostile) value, quoted.
    exported["GOINSECURE"] = "v"
    saved = {name: None for name in bad_names}
    saved["GOINSECURE"] = f"'; touch {m}; '"
    env = {name: "v" for name in bad_names if "\n" not in name}
    env["GOINSECURE"] = "v"
    env["GOTASKS_SHELL"] = json.dumps({"exported": exported, "saved": saved})
    result = eval_env(project, env, after='printf "%s" "$GOINSECURE"')
    assert not marker.exists(), result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"'; touch {m}; '"
    printed = project.inv("env", env=env).stdout
    assert "unset" not in printed, printed


@pytest.mark.parametrize("name", ["x\ntouch MARKER", "a b", "$(touch MARKER)", "-x"])
def test_an_env_file_whose_name_is_no_plain_word_is_refused(
    make_project: MakeProject, name: str
) -> None:
    project = make_project(git=False)
    marker = project.root / "ran"  # relative to where eval runs: a file name takes no "/"
    name = name.replace("MARKER", "ran")
    (project.root / "config" / f"{name}.yaml").write_text("go:\n  tags: [x]\n")
    result = eval_env(project, {}, f"--env={shlex.quote(name)}")
    assert not marker.exists()
    assert result.returncode == 99, result.stdout
    # Refused before anything runs, whichever env is asked for: one line, exit 2.
    direct = project.inv("env")
    assert direct.returncode == 2, direct.stderr
    message = direct.stderr.rstrip("\n")
    assert "\n" not in message and "Traceback" not in message, direct.stderr
    assert "plain word" in message and repr(f"{name}.yaml") in message
    assert direct.stdout == ""
