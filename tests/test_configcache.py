"""Each env's settings remembered in .gotasks/cache/: loaded again whenever anything they
come from differs (a byte of a file, a variable the files read, however they read it, the
working folder), a mistake never remembered, a damaged entry a fresh load. Pure code."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from gotasks.configcache import remembering_loader
from gotasks.core.errors import UsageError
from gotasks.lookups import cache_dir
from gotasks.settings import EnvLoader, LoadEnv, Settings, load_settings


def project(tmp_path: Path) -> Path:
    """Two envs over a small base (each load short: this is the quick loop)."""
    folder = tmp_path / "config"
    folder.mkdir(parents=True)
    (folder / "base.yaml").write_text("lint:\n  vet: true\nbench:\n  benchtime: 1s\n")
    (folder / "dev.yaml").write_text("go:\n  tags: [dev]\n")
    (folder / "prod.yaml").write_text("bench:\n  count: 10\n")
    return tmp_path


def counting(root: Path, environ: Mapping[str, str], seen: list[str]) -> EnvLoader:
    """The remembering loader, noting each env it really loaded."""
    remembering = remembering_loader(root, environ)

    def get(env: str, load: LoadEnv) -> Settings:
        def counted(values: Mapping[str, str]) -> Settings:
            seen.append(env)
            return load(values)

        return remembering(env, counted)

    return get


def load(root: Path, env: str, environ: Mapping[str, str], seen: list[str]) -> Settings:
    return load_settings(root, env, environ, counting(root, environ, seen))


@pytest.fixture(autouse=True)
def in_project(tmp_path: Path) -> Iterator[None]:
    # File names in messages are relative to the working folder: keep it fixed.
    before = os.getcwd()
    os.chdir(tmp_path)
    yield
    os.chdir(before)


def test_a_remembered_mapping_keeps_the_order_it_was_loaded_in(tmp_path: Path) -> None:
    # build.version_vars' order is -ldflags' order, which a build's up-to-date key holds:
    # a cached load that sorted it made every second build run again.
    root = project(tmp_path)
    (root / "config" / "base.yaml").write_text(
        "build:\n  version_vars:\n    version: main.version\n    commit: main.commit\n"
    )
    seen: list[str] = []
    fresh = load(root, "dev", {}, seen)
    cached = load(root, "dev", {}, seen)
    assert sorted(seen) == ["dev", "prod"]  # the second came from the cache
    order = list(fresh.section("build")["version_vars"])
    assert order[:2] == ["version", "commit"]
    assert list(cached.section("build")["version_vars"]) == order


def test_every_env_is_loaded_once_until_its_files_change(tmp_path: Path) -> None:
    root = project(tmp_path)
    seen: list[str] = []
    first = load(root, "dev", {}, seen)
    assert sorted(seen) == ["dev", "prod"]
    again = load(root, "dev", {}, seen)
    assert sorted(seen) == ["dev", "prod"]  # nothing changed: no second look
    assert again == first == load_settings(root, "dev", {})  # the same as a fresh load
    assert again.where(("lint", "vet")) == first.where(("lint", "vet")) == "config/base.yaml:2"

    # A mistake written into prod.yaml fails the dev run, cache or not.
    prod = root / "config" / "prod.yaml"
    good = prod.read_text()
    prod.write_text(good + "\nbuild:\n  cgo: maybe\n")
    with pytest.raises(UsageError, match=r"prod\.yaml"):
        load(root, "dev", {}, seen)
    with pytest.raises(UsageError, match=r"prod\.yaml"):  # a failure is never remembered
        load(root, "dev", {}, seen)
    prod.write_text(good)
    seen.clear()
    load(root, "dev", {}, seen)
    assert seen == []  # the same bytes as when it passed: the answer stands
    prod.write_text(good + "# a comment\n")
    load(root, "dev", {}, seen)
    assert seen == ["prod"]

    # A change to the selected env's file is read, even one that keeps its size.
    dev = root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "\nlint:\n  vet: false\n")
    seen.clear()
    assert load(root, "dev", {}, seen).section("lint")["vet"] is False
    assert seen == ["dev"]
    dev.write_text(dev.read_text().replace("vet: false", "vet: true "))
    assert load(root, "dev", {}, seen).section("lint")["vet"] is True
    assert seen == ["dev", "dev"]

    # base.yaml is part of every env.
    base = root / "config" / "base.yaml"
    base.write_text(base.read_text() + "\n")
    seen.clear()
    load(root, "dev", {}, seen)
    assert sorted(seen) == ["dev", "prod"]


@pytest.mark.parametrize(
    "value",
    [
        "${BENCH_TIME}",
        "$BENCH_TIME",
        '"\\x24{BENCH_TIME}"',  # YAML's escape makes the $ the expansion sees
    ],
)
def test_a_variable_the_config_reads_is_part_of_what_is_remembered(
    tmp_path: Path, value: str
) -> None:
    root = project(tmp_path)
    dev = root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + f"\nbench:\n  benchtime: {value}\n")
    seen: list[str] = []
    assert load(root, "dev", {"BENCH_TIME": "2s"}, seen).section("bench")["benchtime"] == "2s"
    assert (
        load(root, "dev", {"BENCH_TIME": "2s", "OTHER": "1"}, seen).section("bench")["benchtime"]
        == "2s"
    )
    assert seen.count("dev") == 1  # a variable it does not read changes nothing
    assert load(root, "dev", {"BENCH_TIME": "5x"}, seen).section("bench")["benchtime"] == "5x"
    with pytest.raises(UsageError, match=r"bench\.benchtime"):
        load(root, "dev", {"BENCH_TIME": "forever"}, seen)
    assert load(root, "dev", {"BENCH_TIME": "2s"}, seen).section("bench")["benchtime"] == "2s"


def test_a_fallback_read_only_when_the_first_variable_is_empty_counts(tmp_path: Path) -> None:
    root = project(tmp_path)
    dev = root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "\nbench:\n  benchtime: ${FIRST:-${SECOND:-1s}}\n")
    seen: list[str] = []
    both = {"FIRST": "3s", "SECOND": "4s"}
    assert load(root, "dev", both, seen).section("bench")["benchtime"] == "3s"
    assert load(root, "dev", {"SECOND": "4s"}, seen).section("bench")["benchtime"] == "4s"
    assert load(root, "dev", {"SECOND": "6s"}, seen).section("bench")["benchtime"] == "6s"
    assert load(root, "dev", {}, seen).section("bench")["benchtime"] == "1s"
    assert seen.count("dev") == 4


def written(root: Path) -> str:
    """Everything the cache holds, as text."""
    return "\n".join(p.read_text() for p in sorted(cache_dir(root).glob("*.json")))


@pytest.mark.parametrize("where", ["variable", "file"])
def test_settings_holding_a_token_are_never_written_and_load_each_time(
    tmp_path: Path, where: str
) -> None:
    # A token in GOPROXY, through a variable or written in the file, must not reach
    # .gotasks/cache/ (tests/test_secrets.py checks a whole run's files the same way).
    root = project(tmp_path)
    token = "t0kenQ7xSecret"
    proxy = f"https://{token}@proxy.corp.example"
    dev = root / "config" / "dev.yaml"
    written_proxy = "${MY_PROXY}" if where == "variable" else proxy
    dev.write_text(dev.read_text() + f"  env:\n    GOPROXY: {written_proxy}\n")
    environ = {"MY_PROXY": proxy}
    seen: list[str] = []
    for _ in range(2):
        assert load(root, "dev", environ, seen).go_env["GOPROXY"] == proxy
    assert seen.count("dev") == 2  # not remembered: loaded afresh each time
    assert seen.count("prod") == 1  # prod holds no token: remembered as before
    assert token not in written(root)


def test_a_variables_value_is_kept_as_a_digest_only(tmp_path: Path) -> None:
    root = project(tmp_path)
    dev = root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "\nbench:\n  benchtime: ${FIRST:-${SECOND:-1s}}\n")
    seen: list[str] = []
    load(root, "dev", {"FIRST": "7s"}, seen)
    stored = json.loads((cache_dir(root) / "settings-dev.json").read_text())
    variables = stored["value"]["variables"]
    assert "FIRST" in variables and "7s" not in variables.values()
    load(root, "dev", {"FIRST": "7s"}, seen)
    assert seen.count("dev") == 1  # the digest still knows the same value
    load(root, "dev", {"FIRST": "8s"}, seen)
    assert seen.count("dev") == 2


def test_file_names_follow_the_working_folder(tmp_path: Path) -> None:
    root = project(tmp_path / "project")
    seen: list[str] = []
    assert load(root, "dev", {}, seen).files == (
        "project/config/base.yaml",
        "project/config/dev.yaml",
    )
    os.chdir(root / "config")
    assert load(root, "dev", {}, seen).files == ("base.yaml", "dev.yaml")
    assert seen.count("dev") == 2


def test_a_configured_module_folder_that_went_away_is_noticed(tmp_path: Path) -> None:
    root = project(tmp_path)
    folder = root / "mod"
    folder.mkdir()
    (folder / "go.mod").write_text("module example.com/mod\n\ngo 1.22\n")
    dev = root / "config" / "dev.yaml"
    dev.write_text(dev.read_text() + "\nmodules: [mod]\n")
    seen: list[str] = []
    assert load(root, "dev", {}, seen).modules == (folder.resolve(),)
    (folder / "go.mod").unlink()
    with pytest.raises(UsageError, match=r"dev\.yaml:\d+: modules\[0\]: 'mod' has no go\.mod"):
        load(root, "dev", {}, seen)
    # dev as the other env of a prod run: its remembered settings are checked as well.
    with pytest.raises(UsageError, match=r"dev\.yaml:\d+: modules\[0\]: 'mod' has no go\.mod"):
        load(root, "prod", {}, seen)


@pytest.mark.parametrize("damage", ["{", '{"version": 1, "key": "x"}', "\x00\xff"])
def test_a_damaged_entry_is_a_fresh_load(tmp_path: Path, damage: str) -> None:
    root = project(tmp_path)
    seen: list[str] = []
    first = load(root, "dev", {}, seen)
    entry = cache_dir(root) / "settings-dev.json"
    assert entry.is_file()
    entry.write_text(damage, encoding="utf-8", errors="surrogateescape")
    assert load(root, "dev", {}, seen) == first
    assert seen.count("dev") == 2


def test_an_entry_with_other_settings_under_the_same_key_is_not_trusted_blindly(
    tmp_path: Path,
) -> None:
    """What decides a hit is the key of the files, never what the entry says it holds: an
    entry copied from another env is a miss."""
    root = project(tmp_path)
    seen: list[str] = []
    dev = load(root, "dev", {}, seen)
    prod = load(root, "prod", {}, seen)
    cache = cache_dir(root)
    shutil.copy(cache / "settings-prod.json", cache / "settings-dev.json")
    assert load(root, "dev", {}, seen) == dev != prod
    assert seen.count("dev") == 2
