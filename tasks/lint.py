"""`inv lint`: gofmt, go vet, go.mod tidiness and golangci-lint on every module."""

from __future__ import annotations

import shutil

from invoke.context import Context
from invoke.runners import Result

from tasks.context import go, module_header, module_of, run_tool, settings_of, toolchain_of
from tasks.engine import TaskFailed, console, task
from tasks.go.modules import Module
from tasks.go.sources import go_files
from tasks.go.version import GoVersion


@task(
    cpu=1,
    mem="1G",
    pool="lint",
    each="module",
    help={
        "fix": "format with gofmt -w and run go mod tidy instead of failing on them",
        "module": "only this module (its folder or module path); default: every module",
    },
)
def lint(c: Context, fix: bool = False, module: str | None = None) -> None:
    """Check formatting (gofmt), go vet, go.mod/go.sum tidiness and golangci-lint."""
    assert module is not None
    mod = module_of(c, module)
    config = settings_of(c.config).section("lint")
    module_header(c, "lint", mod)
    problems: list[str] = []
    if config["gofmt"]:
        problems += _gofmt(c, mod, fix)
    # tidy before vet: with --fix, a new import's requirement is added before vet needs it
    if config["tidy"]:
        problems += _tidy(c, mod, fix)
    if config["vet"]:
        problems += _vet(c, mod)
    problems += _golangci_lint(c, mod, config["golangci_lint"], config["golangci_lint_args"])
    if problems:
        raise TaskFailed(f"lint {mod.rel}: " + "; ".join(problems))


def _gofmt(c: Context, mod: Module, fix: bool) -> list[str]:
    toolchain, _ = toolchain_of(c.config)
    files = go_files(mod.dir)
    if not files:
        return []
    unformatted: list[str] = []
    # In batches: a big module's file list would pass the kernel's limit on one command line.
    for batch in _batches(files):
        result = run_tool(c, [str(toolchain.gofmt), "-l", *batch], mod.dir)
        if result.exited != 0:
            console.fail("gofmt could not parse:")
            console.info(result.stderr.rstrip())
            return ["gofmt failed"]
        unformatted += result.stdout.splitlines()
    if not unformatted:
        console.ok(f"gofmt ({len(files)} files)")
        return []
    if fix:
        for batch in _batches(unformatted):
            written = run_tool(c, [str(toolchain.gofmt), "-w", *batch], mod.dir)
            if written.exited != 0:
                console.fail("gofmt -w:")
                console.info(written.stderr.rstrip())
                return ["gofmt -w failed"]
        console.ok("gofmt -w: formatted " + ", ".join(unformatted))
        return []
    console.fail("gofmt: not formatted (run `inv lint --fix`):")
    for name in unformatted:
        console.info(f"  {mod.rel}/{name}")
    return [f"{len(unformatted)} file(s) not gofmt-ed"]


def _batches(files: list[str], size: int = 500) -> list[list[str]]:
    return [files[i : i + size] for i in range(0, len(files), size)]


def _verdict(result: Result, passed: str, failed: str, problem: str) -> list[str]:
    """One check's outcome: an ok line, or its header and the tool's own output."""
    if result.exited == 0:
        console.ok(passed)
        return []
    console.fail(failed)
    console.info((result.stdout + result.stderr).rstrip())
    return [problem]


def _vet(c: Context, mod: Module) -> list[str]:
    result = go(c, ["vet", "./..."], mod.dir)
    return _verdict(result, "go vet", f"go vet (paths under {mod.rel}/):", "go vet found problems")


def _tidy(c: Context, mod: Module, fix: bool) -> list[str]:
    if fix:
        result = go(c, ["mod", "tidy"], mod.dir)
        return _verdict(result, "go mod tidy", "go mod tidy:", "go mod tidy failed")
    toolchain, _ = toolchain_of(c.config)
    if toolchain.version < GoVersion.parse("1.23"):
        console.warn("go.mod tidiness not checked: `go mod tidy -diff` needs Go 1.23 or later")
        return []
    # -diff prints what tidy would change and exits 1, without touching go.mod or go.sum.
    result = go(c, ["mod", "tidy", "-diff"], mod.dir)
    if result.exited != 0 and not result.stdout.strip():
        # no diff printed: tidy itself failed (a go line newer than the toolchain, ...)
        return _verdict(result, "", "go mod tidy -diff failed:", "go mod tidy -diff failed")
    return _verdict(
        result,
        "go.mod/go.sum tidy",
        "go.mod/go.sum are not tidy (run `inv lint --fix`):",
        "go.mod/go.sum not tidy",
    )


def _golangci_lint(c: Context, mod: Module, mode: str, args: list[str]) -> list[str]:
    if mode == "off":
        return []
    binary = shutil.which("golangci-lint")
    if binary is None:
        if mode == "required":
            console.fail("golangci-lint: not on PATH")
            return [
                "golangci-lint is required by lint.golangci_lint but not installed"
                " (see https://golangci-lint.run/welcome/install/)"
            ]
        console.info("skip golangci-lint (not on PATH; lint.golangci_lint: auto)")
        return []
    result = run_tool(c, [binary, "run", *args, "./..."], mod.dir)
    return _verdict(result, "golangci-lint", "golangci-lint:", "golangci-lint found problems")
