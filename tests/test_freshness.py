"""Up-to-date skipping, the pure code: keys, hidden parts, --explain, the stat cache, the
state files, and the Go inputs read from files (no inv, no go)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from gotasks.core.digests import RECENT_SECONDS, HashError, StatCache, entry_digest, tree_part
from gotasks.engine.freshness import (
    KEEP_ENTRIES,
    Entry,
    StateFile,
    explain,
    flatten,
    hidden_parts,
    key_of,
)
from gotasks.go.inputs import (
    BOOKKEEPING_VARIABLES,
    local_replacements,
    module_files,
    related_files,
    used_folders,
    variables_for_test,
    workspace_file,
)

SALT = "0123456789abcdef"


def _parts(**changes: object) -> dict[str, object]:
    parts: dict[str, object] = {
        "task": {"task": "test", "module": "example.com/m", "env": "dev"},
        "flags": {"race": False, "run": None},
        "settings": {"test": {"timeout": "10m", "args": []}},
        "files": {"a.go": "file 644 aa", "b.go": "file 644 bb"},
        "variables": {"HOME": "/root", "TOKEN": "s3cret-value"},
    }
    parts.update(changes)
    return parts


def test_a_key_is_the_same_for_the_same_parts_in_any_order() -> None:
    one = hidden_parts(_parts(), SALT)
    reordered = {name: dict(reversed(list(v.items()))) for name, v in reversed(one.items())}
    assert key_of(one) == key_of(reordered)


@pytest.mark.parametrize(
    "change",
    [
        {"flags": {"race": True, "run": None}},
        {"settings": {"test": {"timeout": "11m", "args": []}}},
        {"files": {"a.go": "file 755 aa", "b.go": "file 644 bb"}},  # the exec bit
        {"files": {"a.go": "file 644 aa"}},
        {"variables": {"HOME": "/root", "TOKEN": "other"}},
        {"task": {"task": "test", "module": "example.com/m", "env": "prod"}},
    ],
)
def test_any_change_of_any_part_changes_the_key(change: dict[str, object]) -> None:
    assert key_of(hidden_parts(_parts(), SALT)) != key_of(hidden_parts(_parts(**change), SALT))


def test_hidden_parts_never_hold_a_value() -> None:
    text = json.dumps(hidden_parts(_parts(), SALT))
    assert "s3cret-value" not in text and "/root" not in text and "10m" not in text
    assert "TOKEN" in text  # the names stay, for --explain


def test_the_salt_hides_even_a_guessable_value() -> None:
    a, b = hidden_parts(_parts(), SALT), hidden_parts(_parts(), "another salt")
    assert a["variables"]["TOKEN"] != b["variables"]["TOKEN"]


def test_flatten_names_nested_settings_with_dots() -> None:
    flat = flatten({"test": {"timeout": "10m", "args": []}, "go": {"env": {"GOFLAGS": ""}}})
    assert flat == {"test.timeout": "10m", "test.args": [], "go.env.GOFLAGS": ""}


def test_explain_names_files_added_removed_and_changed() -> None:
    old = hidden_parts(_parts(), SALT)
    new = hidden_parts(_parts(files={"a.go": "file 644 a2", "c.go": "file 644 cc"}), SALT)
    assert explain(old, new) == ["files: added c.go; removed b.go; changed a.go"]


def test_explain_names_settings_flags_and_variables_by_name_only() -> None:
    old = hidden_parts(_parts(), SALT)
    new = hidden_parts(
        _parts(
            flags={"race": True, "run": None},
            settings={"test": {"timeout": "1m", "args": []}},
            variables={"HOME": "/root", "TOKEN": "new-secret"},
        ),
        SALT,
    )
    lines = explain(old, new)
    assert lines == [
        "flags: changed race",
        "settings: changed test.timeout",
        "variables: changed TOKEN",
    ]
    assert "new-secret" not in " ".join(lines) and "s3cret" not in " ".join(lines)


def test_explain_without_a_record() -> None:
    assert explain(None, hidden_parts(_parts(), SALT)) == ["no earlier success recorded"]


def test_explain_shortens_a_long_list() -> None:
    old = hidden_parts(_parts(files={}), SALT)
    new = hidden_parts(_parts(files={f"f{i:02}.go": "x" for i in range(25)}), SALT)
    (line,) = explain(old, new)
    assert line.startswith("files: added f00.go, f01.go") and line.endswith("and 15 more")


# -- the stat cache ---------------------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_the_stat_cache_hashes_content(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"hello")
    cache = StatCache(None)
    assert cache.sha256(f) == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_the_stat_cache_trusts_an_unchanged_stat_and_rehashes_a_changed_one(
    tmp_path: Path,
) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    cache = StatCache(None)
    first = cache.sha256(f)
    # The cache is what answers while the stat is the same: a planted digest is believed.
    cache.entries[str(f)][4] = "planted"
    assert cache.sha256(f) == "planted"
    f.write_bytes(b"two")  # same size; mtime, ctime change
    assert cache.sha256(f) not in ("planted", first)


def test_the_stat_cache_is_saved_without_files_changed_just_now(tmp_path: Path) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("old")
    new.write_text("new")
    _age(old, 60)
    store = tmp_path / "state" / "cache.json"
    cache = StatCache(store)
    cache.sha256(old)
    cache.sha256(new)
    cache.save()
    saved = StatCache(store).entries
    assert str(old) in saved
    # Changed within RECENT_SECONDS of the save: a later change could keep its timestamps.
    assert str(new) not in saved
    assert RECENT_SECONDS == 2.0


def test_a_damaged_stat_cache_is_an_empty_one(tmp_path: Path) -> None:
    store = tmp_path / "cache.json"
    for text in ("{not json", '{"schema": 1, "files": {"x": [1, 2]}}', "[]", ""):
        store.write_text(text)
        assert StatCache(store).entries == {}


def test_an_unreadable_file_is_a_hash_error(tmp_path: Path) -> None:
    with pytest.raises(HashError, match=r"gone\.txt"):
        StatCache(None).sha256(tmp_path / "gone.txt")
    if os.geteuid() != 0:  # root reads anything
        f = tmp_path / "secret.txt"
        f.write_text("x")
        f.chmod(0)
        with pytest.raises(HashError):
            StatCache(None).sha256(f)


def test_a_tree_records_type_exec_bit_and_links(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.go").write_text("package a")
    tool = tmp_path / "run.sh"
    tool.write_text("#!/bin/sh")
    tool.chmod(0o755)
    (tmp_path / "link.go").symlink_to("sub/a.go")
    (tmp_path / "dirlink").symlink_to("sub")
    cache = StatCache(None)
    tree = tree_part(tmp_path, cache, lambda folder, subs, files: subs)
    assert sorted(tree) == ["dirlink", "link.go", "run.sh", "sub/a.go"]
    assert tree["run.sh"].startswith("file 755 ")
    assert tree["sub/a.go"].startswith("file 644 ")
    assert tree["link.go"] == f"link sub/a.go {cache.sha256(tmp_path / 'sub' / 'a.go')}"
    assert tree["dirlink"] == "link sub other"
    tool.chmod(0o644)
    assert entry_digest(tool, cache).startswith("file 644 ")


# -- state files ------------------------------------------------------------------------------

IDENTITY = {"task": "test", "module": "example.com/m", "folder": "m", "env": "dev"}


def _entry(n: int) -> Entry:
    return Entry(key=f"{n:064x}", when=1000.0 + n, seconds=1.5)


def test_a_state_file_keeps_the_last_few_keys(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "m.test.json", IDENTITY)
    state = state_file.load()
    assert state.entries == [] and state.parts is None
    dropped = []
    for n in range(KEEP_ENTRIES + 2):
        dropped += state_file.record(_entry(n), {"files": {"a": "1"}}, state.salt)
    loaded = state_file.load()
    assert [e.key for e in loaded.entries] == [_entry(n).key for n in range(6, 1, -1)]
    assert [e.key for e in dropped] == [_entry(0).key, _entry(1).key]
    assert loaded.find(_entry(4).key) is not None and loaded.find(_entry(0).key) is None
    assert loaded.salt == state.salt and loaded.parts == {"files": {"a": "1"}}
    # The same key again moves to the front, once.
    state_file.record(_entry(3), {}, state.salt)
    assert [e.key for e in state_file.load().entries][:2] == [_entry(3).key, _entry(6).key]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": "something else"}',
        b'{"format": "gotasks-state", "schema": 1, "identity": {}, "salt": "x", "entries": []}',
        b'{"format": "gotasks-state", "schema": 1, "identity": IDENT, "salt": "x",'
        b' "entries": [{"key": "short", "when": 1, "seconds": 1}]}',
        b'{"format": "gotasks-state", "schema": 1, "identity": IDENT, "salt": "x",'
        b' "entries": [{"key": "' + b"a" * 64 + b'", "when": NaN, "seconds": 1}]}',
    ],
)
def test_a_damaged_or_foreign_state_file_is_a_miss_and_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "m.test.json"
    path.write_bytes(content.replace(b"IDENT", json.dumps(IDENTITY).encode()))
    state = StateFile(path, IDENTITY).load()
    assert state.entries == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "m.test.json" in err[0] and "not up to date" in err[0]
    assert not path.exists() and (tmp_path / "m.test.json.corrupt").exists()
    # Set aside once: the next run records afresh, without another word.
    StateFile(path, IDENTITY).record(_entry(1), {}, state.salt)
    assert StateFile(path, IDENTITY).load().find(_entry(1).key) is not None
    assert capsys.readouterr().err == ""


def test_a_state_file_of_an_older_schema_is_a_quiet_miss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.test.json"
    path.write_text(json.dumps({"format": "gotasks-state", "schema": 0, "entries": "old"}))
    assert StateFile(path, IDENTITY).load().entries == []
    assert capsys.readouterr().err == "" and path.exists()


def test_a_folder_as_state_file_is_a_miss_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.test.json"
    path.mkdir()
    assert StateFile(path, IDENTITY).load().entries == []
    assert "m.test.json" in capsys.readouterr().err


def test_records_from_many_threads_at_once_leave_a_sound_file(tmp_path: Path) -> None:
    path = tmp_path / "m.test.json"
    salt = StateFile(path, IDENTITY).load().salt

    def record(n: int) -> None:
        StateFile(path, IDENTITY).record(_entry(n), {"n": {"v": str(n)}}, salt)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = StateFile(path, IDENTITY).load()
    assert len(state.entries) == KEEP_ENTRIES
    assert len({e.key for e in state.entries}) == KEEP_ENTRIES


# -- Go inputs ----------------------------------------------------------------------------------


def test_local_replacements_and_use_lines_are_read_from_blocks_and_lines() -> None:
    gomod = """module example.com/m

go 1.22

require example.com/lib v1.0.0 // replace => ./nope (a comment)

replace example.com/lib => ../lib

replace (
\texample.com/other v1.2.0 => ./third_party/other
\texample.com/remote => example.com/fork v1.0.0
\t"example.com/quoted" => "../quoted"
)
"""
    assert local_replacements(gomod) == ["../lib", "./third_party/other", "../quoted"]
    gowork = 'go 1.22\n\nuse (\n\t./a\n\t"./b c" // why\n)\nuse ./d\n'
    assert used_folders(gowork) == ["./a", "./b c", "./d"]


def test_module_files_skip_what_is_not_the_modules(tmp_path: Path) -> None:
    for rel in (
        "go.mod",
        "main.go",
        "testdata/golden.txt",
        "vendor/x/y.go",
        ".git/HEAD",
        ".hidden/x.go",
        ".gotasks/history.json",
        "dist/hello_linux_amd64/hello",
        "__pycache__/tasks.pyc",
        "nested/go.mod",
        "nested/n.go",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    files = module_files(tmp_path, StatCache(None))
    assert sorted(files) == ["go.mod", "main.go", "testdata/golden.txt", "vendor/x/y.go"]


def test_related_files_follow_go_work_and_local_replacements(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "lib").mkdir()
    (tmp_path / "tool").mkdir()
    (tmp_path / "app" / "go.mod").write_text(
        "module example.com/app\n\nreplace example.com/lib => ../lib\n"
    )
    (tmp_path / "lib" / "go.mod").write_text("module example.com/lib\n")
    (tmp_path / "lib" / "lib.go").write_text("package lib\n")
    (tmp_path / "tool" / "go.mod").write_text("module example.com/tool\n")
    cache = StatCache(None)
    related = related_files(tmp_path / "app", {}, cache)
    assert sorted(related) == ["../lib/go.mod", "../lib/lib.go"]
    (tmp_path / "go.work").write_text("go 1.22\n\nuse (\n\t./app\n\t./tool\n)\n")
    related = related_files(tmp_path / "app", {}, cache)
    assert sorted(related) == ["../go.work", "../lib/go.mod", "../lib/lib.go", "../tool/go.mod"]
    assert related_files(tmp_path / "app", {"GOWORK": "off"}, cache).keys() == {
        "../lib/go.mod",
        "../lib/lib.go",
    }
    assert workspace_file(tmp_path / "app", {}) == tmp_path / "go.work"
    # A replacement that points nowhere counts as that.
    (tmp_path / "app" / "go.mod").write_text("module example.com/app\nreplace x => ../gone\n")
    assert related_files(tmp_path / "app", {"GOWORK": "off"}, cache) == {"../gone/": "missing"}


def _workspace(root: Path, modules: dict[str, str], imports: dict[str, list[str]]) -> None:
    """go.work using ./NAME for each module (NAME -> module path); imports: NAME -> the
    module paths its code imports (as a Go import block)."""
    for name, path in modules.items():
        (root / name).mkdir()
        (root / name / "go.mod").write_text(f"module {path}\n\ngo 1.22\n")
        block = "".join(f'\t"{p}/x"\n' for p in imports.get(name, []))
        code = f"package {name}\n\nimport (\n{block})\n" if block else f"package {name}\n"
        (root / name / f"{name}.go").write_text(code)
    uses = "".join(f"\t./{name}\n" for name in modules)
    (root / "go.work").write_text(f"go 1.22\n\nuse (\n{uses})\n")


def _folders(related: dict[str, str]) -> set[str]:
    """The sibling modules whose code (not just go.mod/go.sum) is in the key."""
    return {rel.split("/")[1] for rel in related if rel.endswith(".go")}


def test_a_workspace_module_keys_only_the_workspace_modules_it_reaches(tmp_path: Path) -> None:
    paths = {"a": "example.com/a", "b": "example.com/b", "c": "example.com/c"}
    paths |= {"d": "example.com/d", "a2": "example.com/a2"}  # a2: a's path as a prefix
    # a imports b, b imports c (through a back-quoted path); d and a2 stand alone.
    _workspace(tmp_path, paths, {"a": ["example.com/b"]})
    (tmp_path / "b" / "b.go").write_text("package b\n\nimport c `example.com/c`\n")
    cache = StatCache(None)
    related = related_files(tmp_path / "a", {}, cache)
    assert _folders(related) == {"b", "c"}
    # every module's go.mod counts: the workspace's build list is made from all of them
    assert {"../b/go.mod", "../c/go.mod", "../d/go.mod", "../a2/go.mod", "../go.work"} <= set(
        related
    )
    assert _folders(related_files(tmp_path / "d", {}, cache)) == set()
    assert _folders(related_files(tmp_path / "c", {}, cache)) == set()
    # A require in go.mod alone (no import yet) counts, and so does a replace.
    (tmp_path / "d" / "go.mod").write_text(
        "module example.com/d\n\nrequire example.com/a2 v0.0.0\n"
    )
    assert _folders(related_files(tmp_path / "d", {}, cache)) == {"a2"}
    # d replacing c by the workspace's own c: an edge d -> c only. A replacement by a
    # folder outside the workspace counts for every module (the workspace applies it).
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib.go").write_text("package lib\n")
    (tmp_path / "d" / "go.mod").write_text(
        "module example.com/d\n\nrequire example.com/a2 v0.0.0\n\n"
        "replace (\n\texample.com/c => ../c\n\texample.com/lib => ../lib\n)\n"
    )
    assert _folders(related_files(tmp_path / "d", {}, cache)) == {"a2", "c", "lib"}
    assert _folders(related_files(tmp_path / "a2", {}, cache)) == {"lib"}
    # A test file's import counts (test reads it); so does a mention in a comment.
    (tmp_path / "c" / "c_test.go").write_text('package c\n\n// see "example.com/d"\n')
    assert _folders(related_files(tmp_path / "c", {}, cache)) == {"d", "a2", "lib"}
    # A use folder whose module path cannot be read: every module counts (doubt).
    (tmp_path / "a2" / "go.mod").write_text("// no module line\n")
    assert _folders(related_files(tmp_path / "b", {}, cache)) == {"a", "c", "d", "a2", "lib"}


def test_a_module_outside_the_workspace_use_list_keys_every_used_module(tmp_path: Path) -> None:
    _workspace(tmp_path, {"a": "example.com/a", "b": "example.com/b"}, {})
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "go.mod").write_text("module example.com/z\n")
    assert _folders(related_files(tmp_path / "z", {}, StatCache(None))) == {"a", "b"}


def test_variables_for_test_leave_out_the_shells_bookkeeping_only() -> None:
    environ = {"PWD": "/x", "SHLVL": "2", "_": "/usr/bin/inv", "HOME": "/root", "DB_URL": "x"}
    environ["GOTASKS_RUN_TOKEN"] = "a-new-one-each-run"
    assert variables_for_test(environ) == {"HOME": "/root", "DB_URL": "x"}
    assert {"PWD", "OLDPWD", "SHLVL", "_", "GOTASKS_RUN_TOKEN"} <= BOOKKEEPING_VARIABLES


def test_file_names_that_are_not_utf8_have_keys_of_their_own(tmp_path: Path) -> None:
    """Go accepts any byte in a file name; Python holds the bytes that are not UTF-8 as
    surrogates, which plain UTF-8 encoding refuses: the key is taken from the bytes."""
    odd = os.fsdecode(b"greet/\xff.go")
    other = os.fsdecode(b"greet/\xfe.go")
    assert key_of({"files": {odd: "1"}}) != key_of({"files": {other: "1"}})
    assert key_of({"files": {odd: "1"}}) == key_of({"files": {odd: "1"}})
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / os.fsdecode(b"\xff.go")).write_bytes(b"package m\n")
    from gotasks.core.digests import code_digest

    assert len(code_digest(folder, ".go")) == 64


def test_the_code_digest_through_a_stat_cache_is_the_same_and_sees_an_edit(
    tmp_path: Path,
) -> None:
    """Every run digests gotasks' own code: through the stat cache an unchanged file is not
    read again, and the digest is the one reading every file gives."""
    from gotasks.core.digests import StatCache, code_digest

    folder = tmp_path / "code"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.py").write_text("x = 1\n")
    (folder / "sub" / "b.py").write_text("y = 2\n")
    cache = StatCache(None)
    plain = code_digest(folder)
    assert code_digest(folder, cache=cache) == plain
    assert code_digest(folder, cache=cache) == plain  # from the cache now
    (folder / "sub" / "b.py").write_text("y = 3\n")  # same size, new content
    edited = code_digest(folder)
    assert edited != plain
    assert code_digest(folder, cache=cache) == edited
    (folder / "c.py").write_text("")  # a new file counts
    assert code_digest(folder, cache=cache) == code_digest(folder) != edited
