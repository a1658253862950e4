"""`inv install` and `inv run`: the main packages built for this machine, with the same
version stamps as `inv build`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import go, module_header, module_of, modules_of, settings_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.engine import task
from gotasks.gobuild import cgo_env, main_packages, relative_package, select_package, stamp_ldflags
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks.go.modules import Module

_MODULE_HELP = "only this module (its folder or module path); default: every module"


@task(
    cpu=2,
    mem="2G",
    pool="build",
    each="module",
    help={
        "package": "only this main package, e.g. ./cmd/hello; default: build.packages",
        "module": _MODULE_HELP,
    },
)
def install(c: Context, package: str | None = None, module: str | None = None) -> None:
    """go install the main packages, with the version stamps inv build gives them.

    They go where go install puts them: GOBIN, else GOPATH/bin."""
    from gotasks.go.artifacts import short_name

    assert module is not None
    mod = module_of(c, module)
    module_header(c, "install", mod)
    packages = select_package(main_packages(c, mod), package, mod, "install")
    if not packages:
        console.info("no main package: nothing to install")
        return
    args = ["install", "-trimpath", "-ldflags", stamp_ldflags(c, mod), *packages]
    result = go(c, args, mod.dir, extra_env=cgo_env(c))
    if result.exited != 0:
        console.fail(f"go install:\n{result.stderr.rstrip()}")
        raise TaskFailed(f"install {mod.label}: go install failed")
    folder = _install_dir(c, mod)
    for import_path in packages:
        console.ok(
            f"{relative_package(import_path, mod.path)} -> {folder / short_name(import_path)}"
        )


def _install_dir(c: Context, mod: Module) -> Path:
    """Where go install put them: GOBIN, else the first GOPATH entry's bin/."""
    out = go(c, ["env", "GOBIN", "GOPATH"], mod.dir, check=True).stdout.splitlines()
    gobin, gopath = [*out, "", ""][:2]
    return Path(gobin) if gobin.strip() else Path(gopath.split(os.pathsep)[0]) / "bin"


@task(
    cpu=2,
    mem="2G",
    help={
        "package": "the main package to run, e.g. ./cmd/hello (needed when there are several)",
        "module": "the module it is in (needed when there are several)",
    },
)
def run(c: Context, package: str | None = None, module: str | None = None) -> None:
    """Build a main package for this machine and run it: inv run -- ARGS.

    Stamped as inv build stamps it; the words after `--` are its arguments."""
    from gotasks.engine.remainder import remainder_args
    from gotasks.go.artifacts import short_name

    mod = _one_module(c, module)
    packages = select_package(main_packages(c, mod), package, mod, "run")
    if len(packages) != 1:
        known = ", ".join(relative_package(p, mod.path) for p in packages) or "none"
        raise UsageError(f"run {mod.label}: which main package? --package one of: {known}")
    binary = state_dir(settings_of(c.config).root) / "run" / mod.name / short_name(packages[0])
    args = ["build", "-trimpath", "-ldflags", stamp_ldflags(c, mod), "-o", str(binary)]
    built = go(c, [*args, packages[0]], mod.dir, extra_env=cgo_env(c))
    if built.exited != 0:
        console.fail(f"go build {packages[0]}:\n{built.stderr.rstrip()}")
        raise TaskFailed(f"run {mod.label}: go build failed")
    # In the folder inv was started from, as go run runs; stdin is the program's.
    result = c.run(
        shlex.join([str(binary), *remainder_args(c)]), warn=True, hide=False, in_stream=sys.stdin
    )
    if result is not None and result.exited != 0:
        raise TaskFailed(f"run: {binary.name} exited with {result.exited}")


def _one_module(c: Context, wanted: str | None) -> Module:
    if wanted:
        return module_of(c, wanted)
    modules = modules_of(c.config)
    if len(modules) == 1:
        return modules[0]
    known = ", ".join(m.rel for m in modules) or "none"
    raise UsageError(f"run: which module? --module one of: {known}")
