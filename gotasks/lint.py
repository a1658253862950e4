"""`inv lint`: gofmt, go vet, go.mod tidiness and golangci-lint on every module (--staged,
the hook mode, is gotasks/lintstaged.py); `inv fmt`."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.runners import Result

from gotasks.context import go, module_header, module_of, run_tool, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed
from gotasks.engine import task
from gotasks.lintchecks import golangci_lint, refused_names, tidy, tool_verdict

if TYPE_CHECKING:
    from gotasks.engine.freshness import UpToDate
    from gotasks.go.modules import Module


@task(
    dry=True,
    cpu=1,
    mem="1G",
    pool="lint",
    each="module",
    help={
        "fix": "format with gofmt -w and run go mod tidy instead of failing on them",
        "module": "only this module (its folder or module path); default: every module",
        "staged": "hook mode: only the files git has staged and their packages; changes"
        " nothing (see inv hooks.install)",
    },
)
def lint(
    c: Context, fix: bool = False, module: str | None = None, staged: bool = False
) -> UpToDate | None:
    """Check formatting (gofmt), go vet, go.mod/go.sum tidiness and golangci-lint."""
    assert module is not None
    if staged:
        from gotasks.lintstaged import lint_staged

        lint_staged(c, fix, module_of(c, module))
        return None
    mod = module_of(c, module)
    config = settings_of(c.config).section("lint")
    # --fix changes files: it always runs (and a check after it starts from what it wrote).
    from gotasks import fresh

    check = fresh.start(
        c,
        "lint",
        mod,
        {"fix": fix},
        lambda: {"golangci-lint": _golangci_inputs(c, mod, config["golangci_lint"])},
        enabled=not fix,
    )
    if check.result is not None:
        return check.result
    problems: list[str] = []
    if config["gofmt"]:
        problems += _gofmt(c, mod, fix)
    # tidy before vet: with --fix, a new import's requirement is added before vet needs it
    if config["tidy"]:
        problems += tidy(c, mod, fix)
    if config["vet"]:
        problems += _vet(c, mod)
    problems += golangci_lint(c, mod, config["golangci_lint"], config["golangci_lint_args"])
    if problems:
        raise TaskFailed(f"lint {mod.label}: " + "; ".join(problems))
    check.done()
    return None


def _golangci_inputs(c: Context, mod: Module, mode: str) -> dict[str, str]:
    """golangci-lint's part of lint's key: the one on PATH (path and digest; a go.mod tool
    is pinned by go.mod, which the module's files cover) and its config file, or absent."""
    from gotasks.fresh import fresh_cache, tool_digest
    from gotasks.go.gotools import golangci_config

    if mode == "off":
        return {"mode": "off"}
    config = golangci_config(mod.dir, settings_of(c.config).root)
    return {
        "mode": mode,
        "on PATH": tool_digest(shutil.which("golangci-lint"), fresh_cache(c)),
        "config": tool_digest(str(config) if config else None, fresh_cache(c)),
    }


@task(
    cpu=1,
    mem="512M",
    pool="lint",
    each="module",
    help={"module": "only this module (its folder or module path); default: every module"},
)
def fmt(c: Context, module: str | None = None) -> None:
    """Format every Go file of the module with gofmt -w (the formatting half of lint --fix)."""
    assert module is not None
    mod = module_of(c, module)
    module_header(c, "fmt", mod)
    problems = _gofmt(c, mod, fix=True)
    if problems:
        raise TaskFailed(f"fmt {mod.label}: " + "; ".join(problems))


def _gofmt(c: Context, mod: Module, fix: bool) -> list[str]:
    from gotasks.go.gofmt import judge
    from gotasks.go.sources import batches, go_files, shown_path

    toolchain, _ = toolchain_of(c.config)
    files = go_files(mod.dir)
    if not files:
        return []
    refused = refused_names(files, lambda name: f"{mod.rel}/{name}")
    problems = [f"{refused} file name(s) go refuses"] if refused else []

    def gofmt(args: list[str]) -> Result:
        return run_tool(c, [str(toolchain.gofmt), *args], mod.dir)

    verdict = judge(gofmt, files)
    if verdict.errors:
        console.fail("gofmt could not parse:")
        console.info("\n".join(verdict.errors))
        return [*problems, "gofmt failed"]
    unformatted = verdict.unformatted
    if not unformatted:
        console.ok(f"gofmt ({len(files)} files)")
        return problems
    if fix:
        # The names as found on disk, never as parsed back from gofmt's output.
        for batch in batches(unformatted):
            written = gofmt(["-w", "--", *batch])
            if written.exited != 0:
                console.fail("gofmt -w:")
                console.info(written.stderr.rstrip())
                return [*problems, "gofmt -w failed"]
        console.ok("gofmt -w: formatted " + ", ".join(shown_path(name) for name in unformatted))
        return problems
    console.fail("gofmt: not formatted (run `inv lint --fix`):")
    for name in unformatted:
        console.info(f"  {shown_path(f'{mod.rel}/{name}')}")
    return [*problems, f"{len(unformatted)} file(s) not gofmt-ed"]


def _vet(c: Context, mod: Module) -> list[str]:
    result = go(c, ["vet", "./..."], mod.dir)
    return tool_verdict(
        result, "go vet", f"go vet (paths under {mod.rel}/):", "go vet found problems"
    )
