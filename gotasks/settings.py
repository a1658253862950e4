"""config/base.yaml + config/<env>.yaml: loaded, merged, validated into one Settings.

The schema is configspec.py's SPEC; which env a run uses is envs.py's. Both, and PyYAML,
load only when a file is read: settings remembered from an earlier run (configcache.py)
need neither."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.core.origins import Document
from gotasks.envs import config_dir, known_envs, select_env
from gotasks.go.version import VersionRule

# The Go environment variables a config may set; every Go subprocess gets the first seven.
GO_ENV_KEYS = (
    "GOPROXY",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOSUMDB",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "GOINSECURE",
    "GOVCS",
    "GOAUTH",
)
GO_ENV_DEFAULTS = {
    "GOPROXY": "https://proxy.golang.org,direct",
    "GOPRIVATE": "",
    "GONOPROXY": "",
    "GONOSUMDB": "",
    "GOSUMDB": "sum.golang.org",
    "GOFLAGS": "",
    "GOTOOLCHAIN": "local",
}


@dataclass(frozen=True)
class TagRule:
    rule: VersionRule
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """One environment's validated settings; `raw` is the same as plain data."""

    env: str
    root: Path
    files: tuple[str, ...]
    raw: dict[str, Any]
    modules: tuple[Path, ...]  # configured module folders, checked to hold a go.mod
    go_version: str | None
    go_env: dict[str, str]
    tags: tuple[str, ...]
    tag_rules: tuple[TagRule, ...]
    origins: dict[tuple[str | int, ...], str]  # key -> "config/prod.yaml:12"

    def where(self, key: tuple[str | int, ...]) -> str:
        """file:line of a key (or its nearest parent) in the config files."""
        return Document(origins=self.origins).where(key)

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw[name]
        assert isinstance(value, dict)
        return value


def _module_dir(root: Path, rel: str, origin: str, index: int) -> Path:
    path = (root / rel).resolve()
    if not path.is_dir():
        raise UsageError(f"{origin}: modules[{index}]: {rel!r} does not exist")
    if not (path / "go.mod").is_file():
        raise UsageError(f"{origin}: modules[{index}]: {rel!r} has no go.mod")
    return path


# How an env's settings are got: (env name, load) -> Settings, where load(environ) reads
# and validates the env's files, ${VAR} taken from `environ`, raising a UsageError for a
# mistake. By default every env is loaded every time; configcache.py's loader answers from
# what an earlier run loaded from the same bytes with the same variables.
LoadEnv = Callable[[Mapping[str, str]], "Settings"]
EnvLoader = Callable[[str, LoadEnv], "Settings"]


def load_settings(
    root: Path,
    explicit_env: str | None = None,
    environ: Mapping[str, str] | None = None,
    loader: EnvLoader | None = None,
) -> Settings:
    """The selected env's settings; every other env's file is checked too, so that a
    mistake in prod.yaml shows up in the first dev run, not at release time."""
    values = os.environ if environ is None else environ

    def load_each_time(env: str, load: LoadEnv) -> Settings:
        return load(values)

    get = loader or load_each_time
    env = select_env(root, explicit_env, values)
    selected = get(env, functools.partial(_load_env, root, env))
    for other in known_envs(root):
        if other != env:
            get(other, functools.partial(_load_env, root, other))
    return selected


def _load_env(root: Path, env: str, environ: Mapping[str, str]) -> Settings:
    from gotasks.configspec import SPEC
    from gotasks.core.schema import validate
    from gotasks.core.yamlconf import load, merge

    folder = config_dir(root)
    doc, files = Document(), []
    for name in ("base", env):
        path = folder / f"{name}.yaml"
        if path.exists() or path.is_symlink():  # a dangling link is refused, not skipped
            label = os.path.relpath(path, Path.cwd()) if path.is_absolute() else str(path)
            label = label if not label.startswith("..") else str(path)
            doc = merge(doc, load(path, label, environ))
            files.append(label)
    raw = validate(SPEC, doc)
    return build_settings(env, root, tuple(files), raw, doc.origins)


def build_settings(
    env: str,
    root: Path,
    files: tuple[str, ...],
    raw: dict[str, Any],
    origins: dict[tuple[str | int, ...], str],
) -> Settings:
    """Settings from validated data: the tag rules parsed, the configured module folders
    checked (each time: a folder that lost its go.mod is an error even when the data was
    remembered)."""
    doc = Document(origins=origins)
    go = raw["go"]
    go_env = dict(GO_ENV_DEFAULTS)
    go_env.update({k: v for k, v in go["env"].items() if v is not None})
    rules = tuple(
        TagRule(VersionRule.parse(item["when"]), tuple(item["tags"])) for item in go["tag_rules"]
    )
    modules = tuple(
        _module_dir(root, rel, doc.where(("modules", i)), i)
        for i, rel in enumerate(raw["modules"] or ())
    )
    return Settings(
        env=env,
        root=root,
        files=files,
        raw=raw,
        modules=modules,
        go_version=go["version"],
        go_env=go_env,
        tags=tuple(go["tags"]),
        tag_rules=rules,
        origins=dict(origins),
    )
