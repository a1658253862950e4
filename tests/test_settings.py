"""Settings end to end: env selection, the shipped tiers, `inv env`, and config errors."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, clean_env, require_go

MakeProject = Callable[..., Project]

# The Go variables every Go subprocess gets from the selected env.
GO_VARS = ("GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOFLAGS", "GOTOOLCHAIN")
INV = f"{shlex.quote(sys.executable)} -m invoke"
PUBLIC = "https://proxy.golang.org"
COMPANY = "https://goproxy.corp.example"


@pytest.fixture(autouse=True)
def _no_inherited_go_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped dev.yaml keeps the caller's GOPROXY & co; start every test without them."""
    require_go()
    for name in (*GO_VARS, "GOINSECURE", "GOVCS", "GOAUTH", "GT_MIRROR", "GT_NOSUM", "GT_EMPTY"):
        monkeypatch.delenv(name, raising=False)


def go_version() -> tuple[int, int, str]:
    """The real toolchain's (major, minor, "1.x.y") as `go env GOVERSION` reports it."""
    text = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    match = re.fullmatch(r"go((\d+)\.(\d+)(?:\.\d+)?(?:(?:rc|beta|alpha)\d+)?)", text)
    assert match, f"cannot read the go version from {text!r}"
    return int(match.group(2)), int(match.group(3)), match.group(1)


def iter_tags() -> list[str]:
    """base.yaml's rule: go_iter when go >= 1.23."""
    major, minor, _ = go_version()
    return ["go_iter"] if (major, minor) >= (1, 23) else []


def exports(stdout: str) -> dict[str, str]:
    """`export NAME=value` lines read back the way a shell would."""
    values = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            words = shlex.split(line)
            assert len(words) == 2, line
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def inv_env(project: Project, *args: str, **env: str) -> dict[str, str]:
    result = project.inv("env", *args, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return exports(result.stdout)


def shell(project: Project, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=project.root,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr holding every needle, no traceback."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout.strip() == ""
    message = result.stderr.rstrip("\n")
    assert message and "\n" not in message, f"not one line: {result.stderr!r}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return message


# 1. Selection: --env > GOTASKS_ENV > test when CI is set > dev.


@pytest.mark.parametrize(
    ("args", "env", "selected"),
    [
        ((), {}, "dev"),
        ((), {"CI": "true"}, "test"),
        ((), {"CI": "true", "GOTASKS_ENV": "prod"}, "prod"),
        (("--env=dev",), {"CI": "true", "GOTASKS_ENV": "prod"}, "dev"),
        (("--env=prod",), {"GOTASKS_ENV": "test"}, "prod"),
        (("--env=test",), {}, "test"),
        # An explicit --env wins even over a GOTASKS_ENV that names no env.
        (("--env=prod",), {"GOTASKS_ENV": "staging"}, "prod"),
    ],
    ids=[
        "dev-default",
        "ci-test",
        "gotasks_env-beats-ci",
        "flag-beats-all",
        "flag-beats-var",
        "flag-alone",
        "flag-beats-bad-var",
    ],
)
def test_env_selection_precedence(
    make_project: MakeProject, args: tuple[str, ...], env: dict[str, str], selected: str
) -> None:
    project = make_project(git=False)
    values = inv_env(project, *args, **env)
    assert values["GOTASKS_ENV"] == selected


# 2. The shipped tiers as `inv env` prints them.


@pytest.mark.e2e
def test_env_ends_with_its_shell_record_on_a_line_of_its_own_explained(
    make_project: MakeProject,
) -> None:
    project = make_project(git=False)
    out = project.inv("env")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("export GOTASKS_SHELL=") and lines[-1].count("export ") == 1
    assert lines[-2].startswith("# GOTASKS_SHELL: ")
    assert not any("GOTASKS_SHELL" in line for line in lines[:-2])


def test_dev_uses_the_public_proxy_with_direct_fallback(make_project: MakeProject) -> None:
    project = make_project(git=False)
    values = inv_env(project, "--env=dev")
    assert set(GO_VARS) <= set(values)
    assert values["GOPROXY"] == f"{PUBLIC},direct"
    assert values["GOPRIVATE"] == ""
    assert values["GOSUMDB"] == "sum.golang.org"
    assert values["GOTOOLCHAIN"] == "local"
    tags = ["dev", *iter_tags()]
    assert values["GOTASKS_TAGS"] == ",".join(tags)
    assert values["GOFLAGS"] == "-tags=" + ",".join(tags)


def test_test_puts_the_company_proxy_first_then_public_then_direct(
    make_project: MakeProject,
) -> None:
    project = make_project(git=False)
    values = inv_env(project, "--env=test")
    assert set(GO_VARS) <= set(values)
    assert values["GOPROXY"] == f"{COMPANY}|{PUBLIC},direct"
    tags = ["test", *iter_tags()]
    assert values["GOTASKS_TAGS"] == ",".join(tags)
    assert values["GOFLAGS"].split() == ["-tags=" + ",".join(tags)]


def test_prod_uses_only_the_company_proxy_and_a_private_list(make_project: MakeProject) -> None:
    project = make_project(git=False)
    values = inv_env(project, "--env=prod")
    assert set(GO_VARS) <= set(values)
    assert values["GOPROXY"] == f"{COMPANY},direct"
    assert "proxy.golang.org" not in " ".join(values.values())
    assert values["GOPRIVATE"] == "corp.example/*"
    tags = ["prod", "netgo", "osusergo", *iter_tags()]
    assert values["GOTASKS_TAGS"].split(",") == tags
    assert values["GOFLAGS"].split() == ["-tags=" + ",".join(tags)]


def test_the_company_proxy_can_come_from_the_environment(make_project: MakeProject) -> None:
    project = make_project(git=False)
    mirror = "https://goproxy.other.example"
    assert inv_env(project, "--env=prod", GOTASKS_COMPANY_PROXY=mirror)["GOPROXY"] == (
        f"{mirror},direct"
    )
    assert inv_env(project, "--env=test", GOTASKS_COMPANY_PROXY=mirror)["GOPROXY"] == (
        f"{mirror}|{PUBLIC},direct"
    )


@pytest.mark.parametrize(
    ("user_goproxy", "expected"),
    [
        ("https://mirror.example,direct", "https://mirror.example,direct"),
        ("off", "off"),
        ("", f"{PUBLIC},direct"),  # empty counts as unset: ${GOPROXY:-...}
    ],
)
def test_dev_keeps_the_users_goproxy(
    make_project: MakeProject, user_goproxy: str, expected: str
) -> None:
    project = make_project(git=False)
    assert inv_env(project, GOPROXY=user_goproxy)["GOPROXY"] == expected


DEFAULTS_YAML = """\
go:
  env:
    GOPROXY: ${GT_MIRROR:-https://fallback.example,direct}
    GONOSUMDB: ${GT_NOSUM}
    GONOPROXY: ${GT_EMPTY:-none.example}
    GOPRIVATE: "cost$$5/$${HOME}"
  tags: [dev]
"""


def test_variables_defaults_and_literal_dollars(make_project: MakeProject) -> None:
    project = make_project(git=False)
    project.write("config/dev.yaml", DEFAULTS_YAML)

    unset = inv_env(project)
    assert unset["GOPROXY"] == "https://fallback.example,direct"
    assert unset["GONOSUMDB"] == ""  # ${VAR} alone: empty when unset
    assert unset["GONOPROXY"] == "none.example"
    assert unset["GOPRIVATE"] == "cost$5/${HOME}"  # $$ is a literal $, nothing expanded

    empty = inv_env(project, GT_MIRROR="", GT_EMPTY="")
    assert empty["GOPROXY"] == "https://fallback.example,direct"
    assert empty["GONOPROXY"] == "none.example"

    given = inv_env(project, GT_MIRROR="https://m.example", GT_NOSUM="corp.example", GT_EMPTY="x")
    assert given["GOPROXY"] == "https://m.example"
    assert given["GONOSUMDB"] == "corp.example"
    assert given["GONOPROXY"] == "x"


# 3. eval "$(inv env)": go itself sees the settings, build tags included.


def test_eval_gives_go_the_prod_settings(make_project: MakeProject) -> None:
    project = make_project()
    result = shell(project, f'eval "$({INV} env --env=prod)" && go env GOPROXY GOFLAGS GOPRIVATE')
    assert result.returncode == 0, result.stderr
    goproxy, goflags, goprivate = result.stdout.splitlines()
    assert goproxy == f"{COMPANY},direct"
    assert goflags.split() == ["-tags=" + ",".join(["prod", "netgo", "osusergo", *iter_tags()])]
    assert goprivate == "corp.example/*"


def test_eval_prod_compiles_the_prod_edition_and_dev_the_default(
    make_project: MakeProject, tmp_path: Path
) -> None:
    project = make_project()
    binary = tmp_path / "hello-prod"
    prod = shell(
        project,
        f'eval "$({INV} env --env=prod)" && cd hello && go build -o {shlex.quote(str(binary))}'
        f" ./cmd/hello && {shlex.quote(str(binary))} version",
    )
    assert prod.returncode == 0, prod.stderr
    assert "edition: prod" in prod.stdout.splitlines()

    dev = shell(project, f'eval "$({INV} env --env=dev)" && cd hello && go run ./cmd/hello version')
    assert dev.returncode == 0, dev.stderr
    assert "edition: default" in dev.stdout.splitlines()


def test_switching_from_prod_to_dev_in_one_shell_drops_the_prod_tags(
    make_project: MakeProject,
) -> None:
    project = make_project()
    result = shell(
        project,
        f'eval "$({INV} env --env=prod)" && eval "$({INV} env --env=dev)"'
        " && go env GOFLAGS && cd hello && go run ./cmd/hello version",
    )
    assert result.returncode == 0, result.stderr
    goflags, *output = result.stdout.splitlines()
    assert goflags == "-tags=" + ",".join(["dev", *iter_tags()])
    assert "edition: default" in output


def test_switching_back_to_dev_restores_the_users_own_go_settings(
    make_project: MakeProject,
) -> None:
    project = make_project()
    result = shell(
        project,
        f'eval "$({INV} env --env=prod)" && go env GOPROXY'
        f' && eval "$({INV} env --env=dev)" && go env GOPROXY GOFLAGS',
        GOPROXY="https://mine.example,direct",
        GOFLAGS="-count=1",
    )
    assert result.returncode == 0, result.stderr
    prod_proxy, dev_proxy, dev_flags = result.stdout.splitlines()
    assert prod_proxy.startswith("https://goproxy.corp.example")
    assert dev_proxy == "https://mine.example,direct"
    assert dev_flags == "-count=1 -tags=" + ",".join(["dev", *iter_tags()])


def test_dev_keeps_settings_made_with_go_env_w(make_project: MakeProject, tmp_path: Path) -> None:
    goenv = tmp_path / "go-env"
    goenv.write_text("GOPROXY=https://goproxy.mine.example,direct\nGOFLAGS=-buildvcs=false\n")
    out = make_project(git=False).inv("env", env={"GOENV": str(goenv)})
    assert out.returncode == 0, out.stderr
    result = exports(out.stdout)
    assert result["GOPROXY"] == "https://goproxy.mine.example,direct"
    assert result["GOFLAGS"] == "-buildvcs=false -tags=" + ",".join(["dev", *iter_tags()])


def test_a_user_task_running_go_gets_the_envs_settings(make_project: MakeProject) -> None:
    project = make_project(git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(
            "\n\nfrom gotasks.engine import task as _task\n\n\n"
            "@_task\ndef showgo(c):\n"
            '    c.run("go env GOPROXY GOFLAGS")\n\n\n'
            "ns.add_task(showgo)\n"
        )
    result = project.inv("showgo", "--env=prod")
    assert result.returncode == 0, result.stderr
    proxy, flags = result.stdout.splitlines()
    assert proxy == "https://goproxy.corp.example,direct"
    assert flags.startswith("-tags=prod,netgo,osusergo")


# 4. Credentials in proxy URLs are redacted unless --reveal.


@pytest.mark.parametrize("env_name", ["prod", "test"])
def test_credentials_are_redacted(make_project: MakeProject, env_name: str) -> None:
    project = make_project(git=False)
    proxy = "https://bob:s3cret@proxy.corp.example"
    result = project.inv("env", f"--env={env_name}", env={"GOTASKS_COMPANY_PROXY": proxy})
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert exports(result.stdout)["GOPROXY"].startswith("https://bob:***@proxy.corp.example")

    revealed = project.inv(
        "env", f"--env={env_name}", "--reveal", env={"GOTASKS_COMPANY_PROXY": proxy}
    )
    assert revealed.returncode == 0, revealed.stderr
    assert re.split(r"[,|]", exports(revealed.stdout)["GOPROXY"])[0] == proxy


def test_a_bad_proxy_value_is_refused_without_showing_the_secret(
    make_project: MakeProject,
) -> None:
    project = make_project(git=False)
    before = project.tree_snapshot()
    result = project.inv(
        "env",
        "--env=prod",
        env={"GOTASKS_COMPANY_PROXY": "https://bob:s3cret@proxy.corp.example\nevil"},
    )
    assert_usage_error(result, "GOPROXY")
    assert "s3cret" not in result.stderr
    assert project.tree_snapshot() == before


# 5. Tag rules against the real toolchain's version.


def test_tag_rules_follow_the_real_go_version(make_project: MakeProject) -> None:
    project = make_project(git=False)
    _, _, version = go_version()
    project.write(
        "config/base.yaml",
        f"""\
go:
  tag_rules:
    - when: ">= {version}"
      tags: [exact]
    - when: "> {version}"
      tags: [too_new]
    - when: "< 1.10"
      tags: [ancient]
    - when: ">= 1.21, < 99.0"
      tags: [ranged]
    - when: ">= 1.0, < {version}"
      tags: [one_clause_fails]
""",
    )
    values = inv_env(project, "--env=dev")
    assert values["GOTASKS_TAGS"].split(",") == ["dev", "exact", "ranged"]
    assert values["GOFLAGS"] == "-tags=dev,exact,ranged"


# 6. Bad input: exit 2, one line naming file:line and key, no traceback, nothing changed.

SHIPPED_BASE = (Path(__file__).resolve().parents[1] / "config" / "base.yaml").read_text()

BAD_INPUTS = {
    "yaml-syntax": (
        {"config/dev.yaml": "go:\n  env:\n    GOPROXY: a: b\n"},
        ["env"],
        {},
        ["config/dev.yaml:3", "YAML"],
    ),
    "unknown-key-evn": (
        {"config/dev.yaml": "go:\n  evn:\n    GOPROXY: x\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "go.evn", "'go.env'"],
    ),
    "unknown-key-gonosumcheck": (
        {"config/prod.yaml": "# prod\ngo:\n  env:\n    GONOSUMCHECK: corp.example\n"},
        ["env", "--env=prod"],
        {},
        ["config/prod.yaml:4", "GONOSUMCHECK", "'go.env.GONOSUMDB'"],
    ),
    "wrong-type-count": (
        {"config/dev.yaml": "bench:\n  count: many\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "bench.count", "integer", "many"],
    ),
    "wrong-type-race": (
        {"config/dev.yaml": 'test:\n  race: "yes"\n'},
        ["lint"],
        {},
        ["config/dev.yaml:2", "test.race", "boolean", "yes"],
    ),
    "unknown-env-flag": (
        {},
        ["env", "--env=prdo"],
        {},
        ["prdo", "dev", "prod", "test", "did you mean 'prod'"],
    ),
    "unknown-env-var": (
        {},
        ["env"],
        {"GOTASKS_ENV": "staging"},
        ["staging", "GOTASKS_ENV", "dev", "prod", "test"],
    ),
    "base-is-no-env": ({}, ["env", "--env=base"], {}, ["base", "dev", "prod", "test"]),
    "bad-version-rule": (
        {"config/base.yaml": 'go:\n  tag_rules:\n    - when: "about 1.2"\n      tags: [x]\n'},
        ["env"],
        {},
        ["config/base.yaml:3", "go.tag_rules[0].when", "about 1.2"],
    ),
    "missing-module": (
        {"config/base.yaml": "modules: [nope]\n" + SHIPPED_BASE},
        ["lint"],
        {},
        ["config/base.yaml:1", "modules[0]", "'nope'"],
    ),
    "missing-module-in-block-list": (
        {"config/base.yaml": "modules:\n  - hello\n  - nope\n" + SHIPPED_BASE},
        ["lint"],
        {},
        ["config/base.yaml:3", "modules[1]", "'nope'"],
    ),
    "tag-with-semicolon": (
        {"config/dev.yaml": 'go:\n  tags: ["a;touch pwned"]\n'},
        ["lint"],
        {},
        ["config/dev.yaml:2", "go.tags[0]", "a;touch pwned"],
    ),
    "tag-with-command-substitution": (
        {"config/dev.yaml": 'go:\n  tags: [dev, "$(touch pwned)"]\n'},
        ["lint"],
        {},
        ["config/dev.yaml:2", "go.tags[1]", "$(touch pwned)"],
    ),
    "unterminated-variable": (
        {"config/dev.yaml": 'go:\n  env:\n    GOPROXY: "${GOPROXY:-https://x.example"\n'},
        ["env"],
        {},
        ["config/dev.yaml:3", "go.env.GOPROXY", "${"],
    ),
    "duplicate-key": (
        {"config/dev.yaml": "go:\n  env:\n    GOPROXY: a\n    GOSUMDB: x\n    GOPROXY: b\n"},
        ["env"],
        {},
        ["config/dev.yaml:5", "duplicate", "go.env.GOPROXY"],
    ),
    "typo-in-another-env-file": (
        {"config/prod.yaml": "# prod\nbench:\n  benchtim: 2s\n"},
        ["env"],
        {},
        ["config/prod.yaml:3", "bench.benchtim", "'bench.benchtime'"],
    ),
    "target-go-cannot-build": (
        {"config/dev.yaml": "build:\n  targets: [linux/amd64, linux/amd46]\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "build.targets[1]", "linux/amd46", "go tool dist list"],
    ),
    "not-a-go-symbol": (
        {"config/dev.yaml": "build:\n  version_vars:\n    commit: commit\n"},
        ["env"],
        {},
        ["config/dev.yaml:3", "build.version_vars.commit", "'commit'"],
    ),
    "zero-pool": (
        {"config/dev.yaml": "scheduler:\n  pools: {lint: 0}\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "scheduler.pools.lint", "above 0"],
    ),
    "not-a-go-version": (
        {"config/dev.yaml": "go:\n  version: banana\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "go.version", "banana"],
    ),
    "flag-value-not-a-number": ({}, ["test", "--count=abc"], {}, ["--count", "abc", "number"]),
    "boolean-in-a-list-of-strings": (
        {"config/dev.yaml": "go:\n  tags: [dev, on]\n"},
        ["env"],
        {},
        ["config/dev.yaml:2", "go.tags[1]", "quote the value"],
    ),
}


def test_golangci_lint_off_may_be_left_unquoted(make_project: MakeProject) -> None:
    project = make_project(git=False)
    project.write("config/dev.yaml", "lint:\n  golangci_lint: off\n")
    assert project.inv("env").returncode == 0


def test_bare_dollar_variables_expand(make_project: MakeProject) -> None:
    project = make_project(git=False)
    project.write("config/dev.yaml", "go:\n  env:\n    GOFLAGS: $GT_FLAGS\n")
    values = exports(project.inv("env", env={"GT_FLAGS": "-count=1"}).stdout)
    assert values["GOFLAGS"].startswith("-count=1 -tags=")


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_one_clear_line(make_project: MakeProject, case: str) -> None:
    files, args, env, needles = BAD_INPUTS[case]
    project = make_project()
    for rel, text in files.items():
        project.write(rel, text)
    before = project.tree_snapshot()
    assert_usage_error(project.inv(*args, env=env), *needles)
    assert project.tree_snapshot() == before
    assert list(project.root.rglob("pwned")) == []


def test_a_config_file_that_is_not_utf8_is_a_usage_error(make_project: MakeProject) -> None:
    project = make_project(git=False)
    (project.root / "config" / "dev.yaml").write_bytes("go:\n  tags: [dev]\n".encode("utf-16"))
    before = project.tree_snapshot()
    assert_usage_error(project.inv("env"), "config/dev.yaml")
    assert project.tree_snapshot() == before


def test_no_go_on_path_is_one_line(make_project: MakeProject, tmp_path: Path) -> None:
    project = make_project()
    only_git = tmp_path / "bin"
    only_git.mkdir()
    git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    (only_git / "git").symlink_to(git.stdout.strip())
    before = project.tree_snapshot()
    message = assert_usage_error(project.inv("env", env={"PATH": str(only_git)}), "PATH")
    assert re.search(r"\bgo\b", message)
    assert project.tree_snapshot() == before


# 7. Settings reach tasks through invoke's config, including a user's own task.

USER_TASK = """

from gotasks.engine import task


@task
def settings_probe(c):
    \"\"\"Print what the run's settings say.\"\"\"
    print("env:", c.config.gotasks.env)
    print("bench.count:", c.config.gotasks.values["bench"]["count"])


ns.add_task(settings_probe)
"""


def test_a_user_task_reads_the_settings_from_invokes_config(make_project: MakeProject) -> None:
    project = make_project(git=False)
    tasks_py = project.root / "tasks.py"
    tasks_py.write_text(tasks_py.read_text() + USER_TASK)

    listed = project.inv("--list")
    assert listed.returncode == 0, listed.stderr
    assert "settings-probe" in listed.stdout

    prod = project.inv("settings-probe", "--env=prod")
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.splitlines() == ["env: prod", "bench.count: 10"]

    default = project.inv("settings-probe")
    assert default.returncode == 0, default.stderr
    assert default.stdout.splitlines() == ["env: dev", "bench.count: 6"]

    ci = project.inv("settings-probe", env={"CI": "true"})
    assert ci.stdout.splitlines() == ["env: test", "bench.count: 6"]


def test_the_shell_record_never_holds_a_password(make_project: MakeProject) -> None:
    project = make_project(git=False)
    result = project.inv("env", env={"GOPROXY": "https://alice:s3cret@proxy.example,direct"})
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout
    assert "alice:***@proxy.example" in exports(result.stdout)["GOTASKS_SHELL"]


def test_switching_env_undoes_a_variable_only_the_old_env_set(make_project: MakeProject) -> None:
    project = make_project(git=False)
    project.write(
        "config/prod.yaml",
        (project.root / "config" / "prod.yaml")
        .read_text()
        .replace(
            '    GOFLAGS: ""',
            '    GOINSECURE: insecure.corp.example\n    GOFLAGS: ""',
        ),
    )
    result = shell(
        project,
        f'eval "$({INV} env --env=prod)" && echo "prod:$GOINSECURE"'
        f' && eval "$({INV} env --env=dev)" && echo "dev:${{GOINSECURE-unset}}"',
    )
    assert result.returncode == 0, result.stderr
    assert "prod:insecure.corp.example" in result.stdout
    assert "dev:unset" in result.stdout


def test_an_emptied_section_in_an_env_file_keeps_base(make_project: MakeProject) -> None:
    project = make_project(git=False)
    project.write("config/dev.yaml", "go:\n  tags: [dev]\nbuild:\n  # targets: [linux/amd64]\n")
    result = project.inv("env")
    assert result.returncode == 0, result.stderr
    # base.yaml's four targets are still checked (and still there): a bad one would fail
    project.write("config/base.yaml", SHIPPED_BASE.replace("windows/amd64", "windows/amd46"))
    assert_usage_error(project.inv("env"), "build.targets[3]", "windows/amd46")


@pytest.mark.parametrize(
    ("claim", "needle"),
    [
        ('timeout="10m"', "timeout="),
        ("mem=None", "mem="),
        ('mem="lots"', "lots"),
        ("cpu=0", "cpu="),
        ('pool="gpu"', "unknown pool 'gpu'"),
    ],
)
def test_a_bad_claim_is_one_line_before_anything_runs(
    make_project: MakeProject, claim: str, needle: str
) -> None:
    project = make_project(git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(
            "\n\nfrom gotasks.engine import task as _task\n\n\n"
            f"@_task({claim})\ndef claimed(c):\n"
            '    c.run("touch ran")\n\n\n'
            "ns.add_task(claimed)\n"
        )
    assert project.inv("--list").returncode == 0  # the listing never breaks
    assert_usage_error(project.inv("claimed"), needle)
    assert not (project.root / "ran").exists()
