"""File names that a line-by-line reading of `gofmt -l` gets wrong (a line break, bytes that
are not UTF-8, quotes, spaces) and names go itself refuses (a leading '-', '$', space):
`inv lint`, `inv lint --fix` and the staged hook judge the file itself, or refuse it by name."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, require_go
from invoke.runners import Result

from gotasks.go.gofmt import first_changed_line, judge
from gotasks.go.sources import go_refuses, shown_path

MakeProject = Callable[..., Project]

CLEAN = "package greet\n\nfunc Clean() int { return 1 }\n"
# gofmt changes line 3 first.
UGLY = "package greet\n\nfunc  Ugly{n}( ) int {{ return 1 }}\n"

# Names go builds (tried with go 1.26: `go build` compiles each), and how lint shows them.
ACCEPTED = {
    "nl\nx.go": '"nl\\nx.go"',
    "sp ace.go": "sp ace.go",
    "q'uote.go": "q'uote.go",
    'dq"uote.go': 'dq"uote.go',
    "tab\t.go": '"tab\\t.go"',
    "caf\u00e9.go": "caf\u00e9.go",
    "ls\u2028ep.go": '"ls\\u2028ep.go"',
    "cr\rx.go": '"cr\\rx.go"',
}
# Names go refuses, and why: go build says "invalid input file name" for a leading ASCII
# symbol; a name that is not UTF-8 builds, but go vet and go test cannot open it.
NOT_UTF8 = os.fsdecode(b"bad\xff.go")
REFUSED = {
    "-dash.go": 'starting with "-"',
    "$dollar.go": 'starting with "$"',
    " lead.go": 'starting with " "',
    "\nlead.go": 'starting with "\\n"',
    NOT_UTF8: "not UTF-8",
}


def gofmt_in(folder: Path) -> Callable[[list[str]], Result]:
    """gofmt run as lint runs it (text out, undecodable bytes replaced), without invoke."""

    def run(args: list[str]) -> Result:
        done = subprocess.run(["gofmt", *args], cwd=folder, capture_output=True, check=False)
        return Result(
            stdout=done.stdout.decode("utf-8", "replace"),
            stderr=done.stderr.decode("utf-8", "replace"),
            exited=done.returncode,
        )

    return run


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


# -- gofmt's verdict, without inv ----------------------------------------------------------


@pytest.mark.parametrize("name", [*ACCEPTED, *REFUSED], ids=repr)
def test_judge_finds_the_unformatted_file_whatever_its_name(tmp_path: Path, name: str) -> None:
    require_go()
    # Decoys a line-by-line reading would report instead: the name's pieces, formatted.
    pieces = [piece for piece in name.replace("\r", "\n").split("\n") if piece.endswith(".go")]
    files = {"greet/" + name: UGLY.format(n=1), "greet/other.go": CLEAN}
    files.update({f"greet/{piece}": CLEAN for piece in pieces if f"greet/{piece}" not in files})
    for rel, text in files.items():
        write(tmp_path, rel, text)
    verdict = judge(gofmt_in(tmp_path), sorted(files))
    assert verdict.unformatted == ["greet/" + name]
    assert verdict.errors == []


def test_judge_keeps_order_and_finds_each_of_many(tmp_path: Path) -> None:
    require_go()
    names = [*ACCEPTED, *REFUSED, "plain.go"]
    for index, name in enumerate(names):
        write(tmp_path, name, UGLY.format(n=index) if index % 2 == 0 else CLEAN)
    verdict = judge(gofmt_in(tmp_path), names)
    assert verdict.unformatted == names[::2]


def test_judge_names_a_file_gofmt_cannot_parse_on_one_line(tmp_path: Path) -> None:
    require_go()
    write(tmp_path, "nl\nbroken.go", "package greet\n\nfunc Broken( {\n")
    verdict = judge(gofmt_in(tmp_path), ["nl\nbroken.go"])
    assert verdict.errors and all("\n" not in line for line in verdict.errors)
    assert verdict.errors[0].startswith('"nl\\nbroken.go":3:'), verdict.errors


def test_first_changed_line_of_a_file_whose_name_has_a_line_break(tmp_path: Path) -> None:
    require_go()
    write(tmp_path, "a\n@@ -9 +9 @@\nb.go", "package greet\n\n\nfunc  X( ) {}\n")
    diff = gofmt_in(tmp_path)(["-d", "--", "a\n@@ -9 +9 @@\nb.go"]).stdout
    # Line 3 (a blank line gofmt drops), never the 9 the name pretends.
    assert first_changed_line(diff, "a\n@@ -9 +9 @@\nb.go") == 3, diff


@pytest.mark.parametrize("name, shown", ACCEPTED.items(), ids=repr)
def test_go_accepts_these_names_and_lint_shows_them_on_one_line(name: str, shown: str) -> None:
    assert go_refuses(name) is None
    assert go_refuses("greet/" + name) is None
    assert shown_path(name) == shown
    assert "\n" not in shown_path(name) and shown_path(name).isprintable()


@pytest.mark.parametrize("name, why", REFUSED.items(), ids=repr)
def test_go_refuses_a_leading_ascii_symbol_and_a_name_not_utf8(name: str, why: str) -> None:
    assert why in (go_refuses("greet/" + name) or "")
    assert go_refuses(name) == go_refuses("greet/" + name)
    assert shown_path(go_refuses(name) or "").isprintable()


def test_go_refuses_agrees_with_go_vet(tmp_path: Path) -> None:
    """The rule is go's own: every name above, vetted (so built) for real."""
    require_go()
    write(tmp_path, "go.mod", "module example.com/n\n\ngo 1.21\n")
    for name in [*ACCEPTED, *REFUSED]:
        folder = tmp_path / "greet"
        if folder.exists():
            for old in folder.iterdir():
                old.unlink()
        write(tmp_path, "greet/" + name, CLEAN)
        vet = subprocess.run(
            ["go", "vet", "./greet"], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert (vet.returncode != 0) == (go_refuses(name) is not None), (name, vet.stderr)


# -- inv lint, inv lint --fix, inv lint --staged ---------------------------------------------


def out(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def named(make_project: MakeProject) -> Project:
    """A module whose greet/ package has an unformatted file under every name above, next to
    formatted decoys named as a line-by-line reading would cut those names."""
    require_go()
    project = make_project(example=False, git=True)
    project.write("app/go.mod", "module example.com/app\n\ngo 1.21\n")
    greet = project.root / "app" / "greet"
    for index, name in enumerate([*ACCEPTED, *REFUSED]):
        write(greet, name, UGLY.format(n=index))
    for decoy in ("x.go", "lead.go", "ep.go"):  # the last piece of nl\nx.go, \nlead.go, ...
        write(greet, decoy, CLEAN.replace("Clean", decoy[0].upper() + "Clean"))
    return project


def snapshot(folder: Path) -> dict[bytes, bytes]:
    return {os.fsencode(p.name): p.read_bytes() for p in folder.iterdir()}


@pytest.mark.e2e
def test_lint_lists_every_unformatted_name_on_one_line_and_changes_nothing(
    named: Project,
) -> None:
    greet = named.root / "app" / "greet"
    before = snapshot(greet)
    result = named.inv("lint")
    assert result.returncode == 1, out(result)
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    expected = {shown_path(f"app/greet/{name}") for name in [*ACCEPTED, *REFUSED]}
    assert sorted(listed) == sorted(expected), result.stdout
    for name in REFUSED:
        refusal = f"{shown_path(f'app/greet/{name}', quote=True)}: {go_refuses(name)}; rename it"
        assert refusal in result.stdout.splitlines(), result.stdout
    assert f"{len(REFUSED)} file name(s) go refuses" in result.stderr
    assert "Traceback" not in out(result)
    assert snapshot(greet) == before


@pytest.mark.e2e
def test_lint_fix_formats_exactly_the_named_files(named: Project) -> None:
    greet = named.root / "app" / "greet"
    decoys = {n: b for n, b in snapshot(greet).items() if n in (b"x.go", b"lead.go", b"ep.go")}
    fixed = named.inv("lint", "--fix")
    assert "gofmt -w failed" not in out(fixed) and "ok   gofmt -w: formatted" in fixed.stdout
    for index, name in enumerate([*ACCEPTED, *REFUSED]):
        formatted = UGLY.format(n=index).replace("func  ", "func ").replace("( )", "()")
        assert (greet / name).read_bytes() == formatted.encode(), name
    assert {n: b for n, b in snapshot(greet).items() if n in decoys} == decoys
    # Only the names go refuses are left to fail on: no fix of ours renames a file.
    assert fixed.returncode == 1, out(fixed)
    assert f"lint app: {len(REFUSED)} file name(s) go refuses; go vet found problems" in (
        fixed.stderr
    )
    for name in REFUSED:
        (greet / name).unlink()
    again = named.inv("lint")
    assert again.returncode == 0, out(again)


@pytest.mark.e2e
def test_staged_hook_judges_every_staged_name(named: Project) -> None:
    named.git("add", "-A")
    greet = named.root / "app" / "greet"
    # The work tree formatted, the index not: the staged content is what gets judged.
    for index, name in enumerate([*ACCEPTED, *REFUSED]):
        (greet / name).write_text(CLEAN.replace("Clean", f"Clean{index}"))
    result = named.inv("lint", "--staged")
    assert result.returncode == 1, out(result)
    for name in [*ACCEPTED, *REFUSED]:
        line = f"{shown_path(f'app/greet/{name}')}:3: not gofmt-formatted (inv lint --fix)"
        assert line in result.stdout.splitlines(), (name, result.stdout)
    for name in REFUSED:
        refusal = f"{shown_path(f'app/greet/{name}', quote=True)}: {go_refuses(name)}; rename it"
        assert refusal in result.stdout.splitlines(), result.stdout
    problems = 2 * len(REFUSED) + len(ACCEPTED) + 1  # + go vet's refusal of the package
    assert f"lint --staged: {problems} problems in staged files; commit refused" in (
        result.stderr
    ), out(result)
    # Staged formatted, and no name go refuses: the hook lets it through.
    for name in REFUSED:
        (greet / name).unlink()
    named.git("add", "-A")
    accepted = named.inv("lint", "--staged")
    assert accepted.returncode == 0, out(accepted)
    assert f"ok   gofmt ({len(ACCEPTED) + 3} staged files)" in accepted.stdout
