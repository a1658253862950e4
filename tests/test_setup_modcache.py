"""Where setup looks for the module cache without starting go: GOMODCACHE or GOPATH as
the environment or `go env -w` sets them; anything else is left to `go env GOMODCACHE`."""

from __future__ import annotations

from pathlib import Path

from gotasks.setupenv import modcache_as_set


def test_gomodcache_set_in_the_environment(tmp_path: Path) -> None:
    env = {"GOMODCACHE": str(tmp_path / "mc"), "GOPATH": str(tmp_path / "gp"), "GOENV": "off"}
    assert modcache_as_set(env) == tmp_path / "mc"


def test_the_first_gopath_entry(tmp_path: Path) -> None:
    env = {"GOPATH": f"{tmp_path / 'a'}:{tmp_path / 'b'}", "GOENV": "off"}
    assert modcache_as_set(env) == tmp_path / "a" / "pkg" / "mod"


def test_go_env_w_values_under_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "goenv"
    file.write_text(f"GOMODCACHE={tmp_path / 'written'}\n")
    assert modcache_as_set({"GOENV": str(file)}) == tmp_path / "written"
    env = {"GOENV": str(file), "GOMODCACHE": str(tmp_path / "env")}
    assert modcache_as_set(env) == tmp_path / "env"


def test_unset_or_relative_is_left_to_go(tmp_path: Path) -> None:
    assert modcache_as_set({"GOENV": "off", "HOME": str(tmp_path)}) is None
    assert modcache_as_set({"GOENV": "off", "GOMODCACHE": "relative/mc"}) is None
