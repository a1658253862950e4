"""The go setup's stages run and its environment: the go the first stage chose (or, a
stage run on its own, the one the project selects), the project's Go environment, the
bundle's folder as GOPROXY with `--from`, and where the module cache is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gotasks.context import choose_toolchain, selection_of
from gotasks.core.errors import TaskFailed
from gotasks.go.environment import compute_tags, go_environment
from gotasks.go.goenvfile import default_go_env_file, with_go_env_file
from gotasks.go.modules import Module
from gotasks.go.toolchain import Toolchain
from gotasks.settings import Settings
from gotasks.setupledger import current


def sum_files(settings: Settings, modules: list[Module]) -> list[Path]:
    """Every go.sum of the project's modules, and go.work.sum."""
    files = [m.dir / "go.sum" for m in modules] + [settings.root / "go.work.sum"]
    return [f for f in dict.fromkeys(files) if f.is_file()]


def stage_toolchain(settings: Settings) -> tuple[Toolchain, bool]:
    """The go setup.go chose, or (a stage run on its own) the one the project selects;
    and whether the project selected it."""
    ledger = current()
    if ledger.toolchain is not None:
        return ledger.toolchain, ledger.selected
    selection = selection_of(settings, None)
    return choose_toolchain(settings, selection, install=False), selection is not None


def go_env(settings: Settings) -> tuple[Toolchain, dict[str, str]]:
    """The go and the environment the stages run it with (a bundle's GOPROXY when --from)."""
    toolchain, selected = stage_toolchain(settings)
    rules = [(rule.rule, rule.tags) for rule in settings.tag_rules]
    tags = compute_tags(settings.tags, rules, toolchain)
    environment = go_environment(settings.env, settings.go_env, tags, settings.where)
    env = dict(environment.variables)
    if selected:
        env["GOTOOLCHAIN"] = "local"
    env["GOROOT"] = str(toolchain.goroot)
    env["PATH"] = os.pathsep.join([str(toolchain.goroot / "bin"), os.environ.get("PATH", "")])
    bundle = current().bundle
    if bundle is not None:
        # Only the bundle, no network: go still checks every file against go.sum, and asks
        # the checksum database (GOSUMDB) only for a module go.sum lacks, which then fails.
        env["GOPROXY"] = bundle.goproxy()
    return toolchain, env


def modcache(toolchain: Toolchain, env: dict[str, str]) -> Path:
    """GOMODCACHE for this go and environment (asked of go once per run at most)."""
    ledger = current()
    with ledger.lock:
        if ledger.modcache is not None:
            return ledger.modcache
    path = modcache_as_set({**os.environ, **env})
    if path is None:
        out = subprocess.run(
            [str(toolchain.go), "env", "GOMODCACHE"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if out.returncode != 0 or not out.stdout.strip():
            raise TaskFailed(f"go env GOMODCACHE failed: {out.stderr.strip()}")
        path = Path(out.stdout.strip())
    with ledger.lock:
        ledger.modcache = path
    return path


def modcache_as_set(environ: dict[str, str]) -> Path | None:
    """GOMODCACHE as go finds it when it is set (or GOPATH is), in the environment or by
    `go env -w`: no go started for it. None leaves it to `go env GOMODCACHE`."""
    values = with_go_env_file(environ, default_go_env_file(environ, sys.platform))
    if values.get("GOMODCACHE"):
        path = Path(values["GOMODCACHE"])
    elif values.get("GOPATH"):
        path = Path(values["GOPATH"].split(os.pathsep)[0]) / "pkg" / "mod"
    else:
        return None
    return path if path.is_absolute() else None
