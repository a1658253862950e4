"""Per-run look-ups remembered in .gotasks/cache/: a hit only when what determines them is
unchanged, any doubt (a changed file, a damaged entry) a fresh look-up, never a crash."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from gotasks import lookups
from gotasks.core.errors import UsageError
from gotasks.go.toolchain import find_toolchain

SOURCE = Path(__file__).resolve().parents[1]


class Counter:
    """A look-up that counts how often it was really made."""

    def __init__(self, answer: list[str]) -> None:
        self.answer, self.calls = answer, 0

    def __call__(self) -> list[str]:
        self.calls += 1
        return list(self.answer)


def module(root: Path) -> Path:
    folder = root / "mod"
    (folder / "cmd" / "a").mkdir(parents=True)
    (folder / "go.mod").write_text("module example.com/mod\n\ngo 1.22\n")
    (folder / "cmd" / "a" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (folder / "lib").mkdir()
    (folder / "lib" / "lib.go").write_text("package lib\n")
    return folder


def main_packages(root: Path, folder: Path, look: Counter, env: dict[str, str]) -> list[str]:
    toolchain = find_toolchain()
    return lookups.main_packages_of(
        root, folder, toolchain, env, ["./..."], look, lambda d: [str(p) for p in d]
    )


def bump(path: Path) -> None:
    """A change that keeps the size, as an editor's save can: only times and content."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_main_packages_are_asked_once_until_something_that_decides_them_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = module(tmp_path)
    look = Counter(["example.com/mod/cmd/a"])
    env = {"GOFLAGS": "-tags=dev"}
    monkeypatch.setenv("GOTASKS_RUN_TOKEN", "run-1")
    assert main_packages(tmp_path, folder, look, env) == ["example.com/mod/cmd/a"]
    # Another run (its own token: gotasks' variables are no Go variables) asks nothing.
    monkeypatch.setenv("GOTASKS_RUN_TOKEN", "run-2")
    assert main_packages(tmp_path, folder, look, env) == ["example.com/mod/cmd/a"]
    assert look.calls == 1

    changes = [
        lambda: (folder / "go.mod").write_text("module example.com/other\n\ngo 1.22\n"),
        lambda: (folder / "lib" / "lib.go").write_text("package main\n"),  # lib is a main now
        lambda: (folder / "lib" / "lib.go").write_text("//go:build ignore\n\npackage main\n"),
        lambda: (folder / "cmd" / "a" / "main.go").write_text(
            'package main\n\nimport "C"\n\nfunc main() {}\n'  # cgo: not built with CGO_ENABLED=0
        ),
        lambda: (folder / "cmd" / "b").mkdir(),  # a new folder ...
        lambda: (folder / "cmd" / "b" / "main.go").write_text("package main\n"),  # ... its main
        lambda: (folder / "lib" / "lib.go").unlink(),
        lambda: (tmp_path / "go.work").write_text("go 1.22\n\nuse ./mod\n"),
    ]
    for number, change in enumerate(changes, 2):
        change()
        main_packages(tmp_path, folder, look, env)
        assert look.calls == number, f"change {number - 1} was not noticed"
        main_packages(tmp_path, folder, look, env)
        assert look.calls == number, f"no hit after change {number - 1}"
    # Other build tags, another GOOS in the environment: asked again.
    main_packages(tmp_path, folder, look, {"GOFLAGS": "-tags=prod"})
    assert look.calls == len(changes) + 2
    # An edit below the imports (a function body, a new declaration) or a touch:
    # no package, name, file or import changed.
    main = folder / "cmd" / "a" / "main.go"
    main.write_text(main.read_text() + "\nvar _ = 1 // edited\n")
    bump(main)
    main_packages(tmp_path, folder, look, {"GOFLAGS": "-tags=prod"})
    assert look.calls == len(changes) + 2
    # A file go list ignores (vendor/, testdata/, hidden folders, not .go) changes nothing.
    (folder / "testdata").mkdir()
    (folder / "testdata" / "x.go").write_text("package main\n")
    (folder / "README.md").write_text("hi\n")
    main_packages(tmp_path, folder, look, {"GOFLAGS": "-tags=prod"})
    assert look.calls == len(changes) + 2


@pytest.mark.parametrize(
    "damage",
    ["", "{", "[]", '{"version": 1, "key": "x"}', "\x00\xff", '{"version": 99}'],
)
def test_a_damaged_entry_is_a_miss_never_a_crash(tmp_path: Path, damage: str) -> None:
    folder = module(tmp_path)
    look = Counter(["example.com/mod/cmd/a"])
    main_packages(tmp_path, folder, look, {})
    (entry,) = (tmp_path / ".gotasks" / "cache").glob("main-packages-*.json")
    entry.write_text(damage)
    assert main_packages(tmp_path, folder, look, {}) == ["example.com/mod/cmd/a"]
    assert look.calls == 2
    assert json.loads(entry.read_text())["value"] == ["example.com/mod/cmd/a"]  # rewritten


def test_a_wrongly_shaped_value_is_a_miss(tmp_path: Path) -> None:
    go = Path(shutil.which("go") or "go")
    first = lookups.toolchain_at(tmp_path, go)
    (entry,) = (tmp_path / ".gotasks" / "cache").glob("toolchain-*.json")
    doc = json.loads(entry.read_text())
    doc["value"] = {"go": str(go)}  # the key matches, the value does not hold a toolchain
    entry.write_text(json.dumps(doc))
    assert lookups.toolchain_at(tmp_path, go) == first == find_toolchain(go)


def test_the_toolchain_is_remembered_and_a_failed_look_up_is_not(tmp_path: Path) -> None:
    go = Path(shutil.which("go") or "go")
    assert lookups.toolchain_at(tmp_path, go) == find_toolchain(go)
    (entry,) = (tmp_path / ".gotasks" / "cache").glob("toolchain-*.json")
    assert lookups.toolchain_at(tmp_path, go) == find_toolchain(go)
    # A "go" that is not one: the error every time, nothing written for it.
    fake = tmp_path / "bin" / "go"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    for _ in range(2):
        with pytest.raises(UsageError):
            lookups.toolchain_at(tmp_path, fake)
    assert list((tmp_path / ".gotasks" / "cache").glob("toolchain-*.json")) == [entry]
    targets = lookups.targets_of(tmp_path, find_toolchain(go))
    assert targets is not None and "linux/amd64" in targets
    assert lookups.targets_of(tmp_path, find_toolchain(go)) == targets


def test_a_read_only_run_writes_no_cache(tmp_path: Path) -> None:
    folder = module(tmp_path)
    look = Counter([])
    lookups.set_writable(False)
    try:
        main_packages(tmp_path, folder, look, {})
    finally:
        lookups.set_writable(True)
    assert not (tmp_path / ".gotasks").exists()


class EnvCounter:
    """A `go env -json` stand-in that counts how often it was really asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, str]:
        self.calls += 1
        return {"GOFLAGS": "", "CGO_ENABLED": "1"}


def test_go_env_is_asked_once_until_something_it_reads_changes(tmp_path: Path) -> None:
    toolchain = find_toolchain()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "GOFLAGS": "-tags=dev"}
    look = EnvCounter()

    def ask(environ: dict[str, str]) -> dict[str, str]:
        return lookups.go_env_of(tmp_path, toolchain, environ, look)

    assert ask(env) == {"GOFLAGS": "", "CGO_ENABLED": "1"}
    ask(env)
    assert look.calls == 1
    # The shell's bookkeeping is not go's business: still a hit.
    ask({**env, "PWD": "/elsewhere", "_": "/usr/bin/inv", "SHLVL": "3"})
    assert look.calls == 1
    fake_cc = bin_dir / "clang"
    changes = [
        lambda: env.update(GOFLAGS="-tags=prod"),  # a variable go reads
        lambda: env.update(CC="my-cc"),  # the C compiler it would run
        lambda: (tmp_path / "go.mod").write_text("module m\n\ngo 1.22\n"),  # a toolchain line
        lambda: (tmp_path / "go.work").write_text("go 1.22\n"),
        # A C compiler appearing on PATH turns cgo's default on.
        lambda: (fake_cc.write_text("#!/bin/sh\n"), fake_cc.chmod(0o755)),
        lambda: bump(fake_cc),
    ]
    for number, change in enumerate(changes, 2):
        change()
        ask(env)
        assert look.calls == number, f"change {number - 1} was not noticed"
        ask(env)
        assert look.calls == number, f"no hit after change {number - 1}"


def test_go_env_remembered_is_what_go_says(tmp_path: Path) -> None:
    from gotasks.go.inputs import go_env

    toolchain = find_toolchain()
    environ = dict(os.environ)
    asked = go_env(toolchain.go, environ, tmp_path)
    first = lookups.go_env_of(
        tmp_path, toolchain, environ, lambda: go_env(toolchain.go, environ, tmp_path)
    )
    again = lookups.go_env_of(tmp_path, toolchain, environ, lambda: {"wrong": "asked again"})
    assert first == again == asked


GO_FILE = b"""// Copyright line
//go:build linux && !prod

/* a block comment
package fake */
package main // the clause

// #include <stdio.h>
import "C"
import (
\tx "os"
\t. "strings" // a comment
\t_ "embed"; "fmt"
)

import `raw/path`

var version = "dev"

func main() { fmt.Println(version) }
"""


def test_a_go_header_ends_before_the_first_declaration_past_the_imports() -> None:
    """What go list reads of a file: constraints, package clause, imports (the cgo preamble
    with them); nothing of the declarations after."""
    from gotasks.go.sources import go_header

    header = go_header(GO_FILE)
    assert header == GO_FILE[: GO_FILE.index(b"var version")]
    # Every part a package's identity or imports hang on is inside the header ...
    for part in (b"//go:build", b"package main", b"#include", b'"C"', b'x "os"', b"`raw/path`"):
        assert part in header
    # ... and a body edit leaves it as it was.
    assert go_header(GO_FILE.replace(b"Println", b"Print")) == header
    assert go_header(b"package lib\n\nfunc F() {}\n") == b"package lib\n\n"


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"// only a comment\n",
        b"/* unterminated package main\n",
        b"func main() {}\n",  # no package clause first
        b"\xef\xbb\xbfpackage main\n",  # a byte order mark: not read, so whole
        b'package main\nimport ("fmt"\nfunc main() {}\n',  # an import group never closed
        b"package main\nimport\n",
        b"package main\nimport x\n",
        b"package\n",
    ],
)
def test_a_file_not_read_as_go_is_its_header_whole(text: bytes) -> None:
    """Anything the header reader does not follow counts whole: any edit then asks go."""
    from gotasks.go.sources import go_header

    assert go_header(text) == text


def test_the_go_headers_come_through_the_stat_cache_and_a_change_is_read_again(
    tmp_path: Path,
) -> None:
    """The main packages' key reads each Go file's header once while its stat stays the
    same (the up-to-date checks' stat cache, saved by the same rules); an edit to the
    imports is seen at once, and a file changed within 2 s of the save is read again."""
    from gotasks.core.digests import StatCache

    folder = module(tmp_path)
    main = folder / "cmd" / "a" / "main.go"
    past = time.time() - 60
    for path in folder.rglob("*"):
        os.utime(path, (past, past))
    store = tmp_path / "stat-cache.json"
    cache = StatCache(store)
    listing = lookups.source_listing(folder, cache)
    assert listing == lookups.source_listing(folder)  # the same as reading every file
    cache.save()
    kept = StatCache(store)
    (header_key,) = [k for k in kept.entries if k.startswith(f"{main}\0")]
    # While the stat is the same, the kept digest answers: a planted one is believed.
    kept.entries[header_key][4] = "planted"
    assert ["cmd/a", "main.go", "planted"] in lookups.source_listing(folder, kept)
    # An import added (same stat otherwise impossible: the write changes mtime and ctime).
    main.write_text('package main\n\nimport "os"\n\nfunc main() { os.Exit(0) }\n')
    again = lookups.source_listing(folder, kept)
    assert again != listing and ["cmd/a", "main.go", "planted"] not in again
    assert again == lookups.source_listing(folder)
    # Changed just now: not saved, so the next run reads it again.
    kept.save()
    assert not [k for k in StatCache(store).entries if k.startswith(f"{main}\0")]
    assert [k for k in StatCache(store).entries if k.startswith(f"{folder / 'go.mod'}\0")]


def test_declared_tools_are_asked_again_when_go_mod_or_the_go_variables_change(
    tmp_path: Path,
) -> None:
    folder = module(tmp_path)
    toolchain = find_toolchain()
    look = Counter(["example.com/tool/cmd/x"])

    def tools(env: dict[str, str]) -> list[str]:
        return lookups.declared_tools_of(tmp_path, folder, toolchain, env, look)

    assert tools({}) == ["example.com/tool/cmd/x"]
    assert tools({}) == ["example.com/tool/cmd/x"] and look.calls == 1
    gomod = folder / "go.mod"
    gomod.write_text(gomod.read_text() + "\ntool example.com/tool/cmd/y\n")
    tools({})
    assert look.calls == 2
    tools({"GOFLAGS": "-mod=mod"})
    assert look.calls == 3
    # Another go.mod named by -modfile: asked every time.
    tools({"GOFLAGS": "-modfile=other.mod"})
    tools({"GOFLAGS": "-modfile=other.mod"})
    assert look.calls == 5

    def failing() -> list[str]:
        raise UsageError("go.mod: cannot read")

    gomod.write_text("not go.mod\n")
    with pytest.raises(UsageError):
        lookups.declared_tools_of(tmp_path, folder, toolchain, {}, failing)
    tools({})  # the failure was not remembered
    assert look.calls == 6
