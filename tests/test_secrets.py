"""Credentials the run knows never reach the screen or a file: not in URLs (redact), and not
in whatever shape a tool prints them (engine.scrub over every stream and report)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import Project, require_go
from sdkserver import ReleaseServer, make_go_archive

from gotasks.core import scrub

MakeProject = Callable[..., Project]
TOKEN = "t0kenQ7x"  # a lone token: go prints it as it is
PASSWORD = "pa55W0rd"  # behind a user name that has an "@" of its own


@pytest.fixture
def secrets() -> Iterator[None]:
    """The registry is process-wide: put it back after the test."""
    saved = (set(scrub._secrets), scrub._pattern)
    yield
    scrub._secrets.clear()
    scrub._secrets.update(saved[0])
    scrub._pattern = saved[1]


# -- the scrubber ---------------------------------------------------------------------------


def test_a_secret_cut_across_writes_is_still_hidden(secrets: None) -> None:
    scrub.add([TOKEN, "other-secret"])
    for cuts in ([3], [1, 5], [7], list(range(1, len(TOKEN)))):
        real = io.StringIO()
        stream = scrub.ScrubbedStream(real)
        text = f"Get https://{TOKEN}@host: refused; again {TOKEN}"
        pieces, last = [], 0
        start = text.index(TOKEN)
        for cut in cuts:
            pieces.append(text[last : start + cut])
            last = start + cut
        pieces.append(text[last:])
        for piece in pieces:
            stream.write(piece)
        stream.release()
        assert real.getvalue() == text.replace(TOKEN, "***"), cuts


def test_text_that_only_looks_like_a_secrets_start_is_written_in_the_end(secrets: None) -> None:
    scrub.add([TOKEN])
    real = io.StringIO()
    stream = scrub.ScrubbedStream(real)
    stream.write("progress t0k")
    assert real.getvalue() == "progress "  # held: the next write may complete the token
    stream.write("ay\n")
    assert real.getvalue() == "progress t0kay\n"
    stream.write("ends with t0")
    stream.release()
    assert real.getvalue() == "progress t0kay\nends with t0"


def test_revealed_writes_pass_untouched(secrets: None) -> None:
    scrub.add([TOKEN])
    real = io.StringIO()
    stream = scrub.ScrubbedStream(real)
    with scrub.revealed():
        stream.write(f"export GOPROXY=https://{TOKEN}@host\n")
    stream.write(f"{TOKEN}\n")
    assert real.getvalue() == f"export GOPROXY=https://{TOKEN}@host\n***\n"


def test_json_keeps_its_shape_whatever_the_secret(secrets: None) -> None:
    scrub.add(["true", "name"])
    doc = {"name": "a true story", "ok": True, "list": ["true", 1]}
    assert json.loads(json.dumps(scrub.scrub_json(doc))) == {
        "***": "a *** story",
        "ok": True,
        "list": ["***", 1],
    }


# -- through inv ----------------------------------------------------------------------------

LEAKY_GO = 'package leaky\n\nimport _ "example.com/dep"\n'
TALKY_TEST = """package talky

import (
\t"fmt"
\t"os"
\t"strings"
\t"testing"
)

// The token as a tool might print it: no URL around it.
func TestTalks(t *testing.T) {
\tproxy := os.Getenv("GOPROXY")
\ttoken := strings.SplitN(strings.TrimPrefix(proxy, "https://"), "@", 2)[0]
\tfmt.Println("the proxy token is", token, "and the proxy", proxy)
\tt.Fatal("failing, so the output is shown")
}
"""


def leaky_project(make_project: MakeProject) -> Project:
    project = make_project(git=False, example=False)
    project.write(
        "leaky/go.mod", "module example.com/leaky\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n"
    )
    project.write("leaky/leaky.go", LEAKY_GO)
    project.write(
        "leaky/leaky_test.go", 'package leaky\n\nimport "testing"\n\nfunc TestX(t *testing.T) {}\n'
    )
    project.write("talky/go.mod", "module example.com/talky\n\ngo 1.22\n")
    project.write("talky/talky_test.go", TALKY_TEST)
    return project


def everything_written(project: Project, *extra: Path) -> str:
    """Every file gotasks wrote in the project (.gotasks/ included), and the extra ones."""
    texts = []
    for path in [*project.root.rglob("*"), *extra]:
        if path.is_file() and "__pycache__" not in path.parts:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args", [("--output", "group"), ("--output", "prefixed"), ("--module", "talky")]
)
def test_a_token_go_prints_is_hidden_everywhere(
    make_project: MakeProject, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """go puts a lone-token proxy URL in its messages as it is; a test prints the token
    bare. Neither reaches the screen, the JUnit file, the trace or the history."""
    require_go()
    project = leaky_project(make_project)
    junit, trace = tmp_path / "junit.xml", tmp_path / "trace.json"
    env = {
        "GOPROXY": f"https://{TOKEN}@127.0.0.1:1",  # nothing listens: go says so, URL and all
        "GOFLAGS": "-mod=mod",
        "GOSUMDB": "off",
        "GOMODCACHE": str(tmp_path / "modcache"),
    }
    result = project.inv(
        "test", "--count=1", "--keep-going", f"--junit={junit}", f"--trace={trace}", *args, env=env
    )
    shown = result.stdout + result.stderr
    assert result.returncode == 1, shown
    assert "the proxy token is ***" in shown  # the line was printed, the token hidden
    if "--module" not in args:
        assert "127.0.0.1:1" in shown  # go's own message about the proxy, shown
    assert TOKEN not in shown
    assert "the proxy token is ***" in junit.read_text()
    assert (project.root / ".gotasks" / "history.json").exists()
    assert TOKEN not in everything_written(project, junit, trace)


@pytest.mark.e2e
def test_inv_env_reveal_still_shows_the_token(make_project: MakeProject) -> None:
    require_go()
    project = make_project(git=False, example=False)
    proxy = f"https://me@corp.example:{PASSWORD}@proxy.corp.example"
    hidden = project.inv("env", env={"GOPROXY": proxy})
    assert hidden.returncode == 0, hidden.stderr
    assert PASSWORD not in hidden.stdout + hidden.stderr
    assert "https://me@corp.example:***@proxy.corp.example" in hidden.stdout
    revealed = project.inv("env", "--reveal", env={"GOPROXY": proxy})
    assert revealed.returncode == 0, revealed.stderr
    assert f"export GOPROXY={proxy}" in revealed.stdout


@pytest.mark.e2e
def test_an_sdk_mirror_whose_user_name_has_an_at(make_project: MakeProject, tmp_path: Path) -> None:
    """Install output, .gotasks/sdk-install.log, the cache's sidecar and the SDK's marker
    name the mirror; none holds the password."""
    project = make_project(git=False, example=False)
    sdk_root = tmp_path / "sdk"
    with ReleaseServer() as server:
        server.add(make_go_archive(tmp_path / "archives", "1.22.5"), "1.22.5")
        mirror = server.base.replace("http://", f"http://me@corp.example:{PASSWORD}@")
        env = {"GOTASKS_SDK_ROOT": str(sdk_root), "GOTASKS_SDK_MIRROR": mirror, "GOPROXY": "off"}
        result = project.inv("sdk.install", "1.22.5", env=env)
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    assert "me@corp.example:***@127.0.0.1" in shown
    log = project.root / ".gotasks" / "sdk-install.log"
    written = everything_written(project) + "".join(
        p.read_text(errors="replace") for p in sdk_root.rglob("*.json") if p.is_file()
    )
    assert log.exists() and any(sdk_root.rglob("*.json"))
    assert PASSWORD not in shown + written
    markers = [
        p
        for p in sdk_root.rglob("*")
        if p.is_file() and "me@corp.example" in p.read_text(errors="replace")
    ]
    assert markers  # the mirror is named (redacted), so the check above looked at it
    assert os.path.isdir(sdk_root)
