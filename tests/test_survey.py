"""The repository survey's pure parts (gotasks/survey.py, gotasks/go/stamps.py): Go string
variables, -X targets against main packages, Makefile targets; and one `inv init` that
prints them for a real module (e2e)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import Project, clean_env, require_go

from gotasks import survey
from gotasks.go import stamps

GO_FILE = """package main

import "fmt"

// version is set by the linker.
var version = "dev"

var (
	Commit    string
	BuildDate = `unknown`
	count     int
	a, b      string
	ratio     = 1.5
	name string = "x"
)

var notes []string

/* var hidden string */

func main() {
	var local string
	fmt.Println(version, local)
}
"""


def test_package_level_string_variables_only() -> None:
    assert stamps.string_variables(GO_FILE) == [
        "version",
        "Commit",
        "BuildDate",
        "a",
        "b",
        "name",
    ]


def test_a_var_inside_a_function_or_a_comment_is_not_one() -> None:
    text = (
        'package x\n\nfunc f() {\nvar version string\n s := "}"\n}\n// var tag string\n'
        "var after = `{`\n"
    )
    # Unformatted code too: a var inside braces is a function's, whatever its column.
    assert stamps.string_variables(text) == ["after"]


def package(
    path: str, name: str, folder: Path, files: dict[str, str], deps=(), module=""
) -> stamps.Package:
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    return stamps.Package(path, name, folder, tuple(files), tuple(deps), module)


def test_missing_targets_are_named_with_the_candidates(tmp_path: Path) -> None:
    """yq's case: the version lives in a library package (cmd.Version), main has none."""
    mod = "github.com/mikefarah/yq/v4"
    cmd = package(
        f"{mod}/cmd",
        "cmd",
        tmp_path / "cmd",
        {"version.go": 'package cmd\n\nvar (\n\tVersion = "v4.54.3"\n\tVersionPre = ""\n)\n'},
    )
    main = package(
        mod,
        "main",
        tmp_path,
        {"yq.go": "package main\n\nfunc main() {}\n"},
        deps=("fmt", f"{mod}/cmd"),
        module=mod,
    )
    asked: list[list[str]] = []

    def go_list(args: list[str]) -> str:
        asked.append(args)
        item = {"ImportPath": cmd.import_path, "Name": "cmd", "Dir": str(cmd.dir)}
        return json.dumps({**item, "GoFiles": list(cmd.go_files)})

    wanted = {"version": "main.version", "commit": "main.commit", "go_version": ""}
    problems = stamps.stamp_problems([main], wanted, go_list)
    assert [(p.key, p.symbol) for p in problems] == [
        ("version", "main.version"),
        ("commit", "main.commit"),
    ]
    assert problems[0].candidates == (f"{mod}/cmd.Version", f"{mod}/cmd.VersionPre")
    assert asked == [["list", "-e", "-json", "--", f"{mod}/cmd"]]
    [line] = stamps.grouped(problems)
    assert line.startswith(f"{mod}: -X main.version (version), main.commit (commit) set nothing")
    assert f"{mod}/cmd.Version" in line
    assert survey.suggested_vars(problems[0].candidates)["version"] == f"{mod}/cmd.Version"

    # Set right, nothing is missing; a target in a package main does not link is.
    right = {"version": f"{mod}/cmd.Version"}
    assert stamps.stamp_problems([main], right, go_list) == []
    elsewhere = {"version": "example.com/other.Version"}
    assert [p.symbol for p in stamps.stamp_problems([main], elsewhere, go_list)] == [
        "example.com/other.Version"
    ]


def test_targets_all_found_in_main_ask_go_list_nothing_more(tmp_path: Path) -> None:
    """The example's case: every -X target a string variable of package main. No problem,
    and no second go list (of the module's other packages) to find candidates with; one
    target missing, and the candidates are looked for again."""
    mod = "example.com/hello"
    main = package(
        f"{mod}/cmd/hello",
        "main",
        tmp_path / "cmd" / "hello",
        {"main.go": 'package main\n\nvar (\n\tversion = "dev"\n\tcommit string\n)\n'},
        deps=("fmt", f"{mod}/greet"),
        module=mod,
    )
    asked: list[list[str]] = []

    def go_list(args: list[str]) -> str:
        asked.append(args)
        return ""

    both = {"version": "main.version", "commit": "main.commit", "dirty": ""}
    assert stamps.stamp_problems([main], both, go_list) == []
    assert asked == []
    missing = {"version": "main.version", "dirty": "main.dirty"}
    assert [p.symbol for p in stamps.stamp_problems([main], missing, go_list)] == ["main.dirty"]
    assert asked == [["list", "-e", "-json", "--", f"{mod}/greet"]]


def test_suggested_vars_fill_each_key_or_leave_it_empty() -> None:
    got = survey.suggested_vars(["main.Version", "main.GitCommit", "main.buildTime", "main.x"])
    assert got == {
        "version": "main.Version",
        "commit": "main.GitCommit",
        "commit_date": "main.buildTime",
        "dirty": "",
        "go_version": "",
    }


@pytest.mark.parametrize(
    ("rel", "example"),
    [
        ("examples/library", True),
        ("example", True),
        ("internal/tools/gen", True),
        ("hack/release", True),
        ("tools", True),
        ("cmd/yq", False),
        ("", False),
        ("internal/toolsmith", False),
        ("pkg/examplesdk", False),
    ],
)
def test_examples_and_tools_are_told_apart(rel: str, example: bool) -> None:
    assert survey.not_shipped(rel) is example


MAKEFILE = """\
GO ?= go
VERSION := $(shell git describe)
.PHONY: all build test lint vet fmt release docs
.DEFAULT_GOAL := all

all: lint test build

build:
\t$(GO) build ./...

test: ; $(GO) test ./...
lint vet:
\tgolangci-lint run
fmt:: tidy
tidy:
release: build
\tgoreleaser release
docs/%.html: docs/%.md
\tpandoc $< -o $@
$(BINARY): build
"""


def test_makefile_targets_map_to_tasks_and_the_rest_are_listed() -> None:
    targets = survey.make_targets(MAKEFILE)
    assert targets == ["all", "build", "test", "lint", "vet", "fmt", "tidy", "release"]
    mapped, rest = survey.map_make_targets(targets)
    assert mapped == [
        ("all", "ci"),
        ("build", "build"),
        ("test", "test"),
        ("lint", "lint"),
        ("vet", "lint"),
        ("fmt", "fmt"),
    ]
    assert rest == ["tidy", "release"]


def test_go_list_stream_is_parsed() -> None:
    stream = '{\n\t"ImportPath": "a",\n\t"Name": "main",\n\t"Dir": "/x"\n}\n{"ImportPath": "b"}\n'
    got = stamps.parse_go_list(stream)
    assert [(p.import_path, p.name, p.dir) for p in got] == [
        ("a", "main", Path("/x")),
        ("b", "", Path(".")),
    ]


@pytest.mark.e2e
def test_init_surveys_a_repository_with_a_makefile_and_a_tool(tmp_path: Path) -> None:
    require_go()
    repo = Project(tmp_path / "app")
    repo.write("go.mod", "module example.com/app\n\ngo 1.21\n")
    repo.write("cmd/app/main.go", 'package main\n\nvar Version = "dev"\n\nfunc main() {}\n')
    repo.write("internal/tools/gen/main.go", "package main\n\nfunc main() {}\n")
    repo.write("Makefile", MAKEFILE)
    repo.write(".golangci.yml", "version: 2\n")
    repo.write(".dockerignore", ".git\n")
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("app")
    source = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [*_inv(), "init", str(repo.root)],
        cwd=source,
        env=clean_env(GOFLAGS="-mod=mod", GOTOOLCHAIN="local"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "example.com/app: main packages: ./cmd/app, ./internal/tools/gen" in text
    assert "./internal/tools/gen look like examples or tools: set build.packages: [./cmd/app]" in (
        text
    )
    assert (
        "example.com/app/cmd/app: -X main.version (version), main.commit (commit)," in text
        and "its version-like string variables: main.Version" in text
    )
    assert "Makefile: targets gotasks has: all -> inv ci, build -> inv build" in text
    assert "Makefile: targets left to port (tasks of your own in tasks.py): tidy, release" in text
    assert ".golangci.yml: set lint.golangci_lint: required" in text
    assert ".dockerignore sends dist/ and .gotasks/ to every image build" in text
    steps = text.split("next steps", 1)[1].splitlines()
    assert "  edit config/base.yaml: build: packages: [./cmd/app]" in steps
    assert (
        '  edit config/base.yaml: build: version_vars: {version: "main.Version", commit: "",'
        ' commit_date: "", dirty: "", go_version: ""}' in steps
    )
    assert steps[-1] == "  inv ci"


def _inv() -> list[str]:
    import sys

    return [sys.executable, "-m", "invoke"]
