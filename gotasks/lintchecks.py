"""The checks `inv lint` runs in both modes (every module, and --staged's hook mode): each
prints its verdict and gives back its problems."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.runners import Result

from gotasks.context import go, run_tool, settings_of, toolchain_of
from gotasks.core import console

if TYPE_CHECKING:
    from gotasks.go.modules import Module
    from gotasks.go.version import GoVersion


def refused_names(files: list[str], shown: Callable[[str], str]) -> int:
    """A line for each file whose name go itself refuses (go build and vet fail on its
    package): gofmt judges it all the same, but no fix of ours can rename it."""
    from gotasks.go.sources import go_refuses, shown_path

    refused = 0
    for name in files:
        why = go_refuses(name)
        if why is not None:
            console.info(f"{shown_path(shown(name), quote=True)}: {why}; rename it")
            refused += 1
    return refused


def tool_verdict(result: Result, passed: str, failed: str, problem: str) -> list[str]:
    """One check's outcome: an ok line, or its header and the tool's own output."""
    if result.exited == 0:
        console.ok(passed)
        return []
    console.fail(failed)
    console.info((result.stdout + result.stderr).rstrip())
    return [problem]


def has_tidy_diff(version: GoVersion) -> bool:
    """`go mod tidy -diff` exists from Go 1.23 on: lint checks tidiness with it, and
    `setup --export` runs it for the zips it makes go fetch."""
    from gotasks.go.version import GoVersion

    return version >= GoVersion.parse("1.23")


def tidy(c: Context, mod: Module, fix: bool) -> list[str]:
    if fix:
        result = go(c, ["mod", "tidy"], mod.dir)
        return tool_verdict(result, "go mod tidy", "go mod tidy:", "go mod tidy failed")
    toolchain, _ = toolchain_of(c.config)
    if not has_tidy_diff(toolchain.version):
        console.warn("go.mod tidiness not checked: `go mod tidy -diff` needs Go 1.23 or later")
        return []
    from gotasks.tidyverdict import passed_before, record_pass, tidy_key

    key = tidy_key(c, mod)
    if passed_before(c, mod, key):
        console.ok("go.mod/go.sum tidy (imports, go.mod and go.sum as when it last passed)")
        return []
    # -diff prints what tidy would change and exits 1, without touching go.mod or go.sum.
    result = go(c, ["mod", "tidy", "-diff"], mod.dir)
    if result.exited != 0 and not result.stdout.strip():
        # no diff printed: tidy itself failed (a go line newer than the toolchain, ...)
        return tool_verdict(result, "", "go mod tidy -diff failed:", "go mod tidy -diff failed")
    problems = tool_verdict(
        result,
        "go.mod/go.sum tidy",
        "go.mod/go.sum are not tidy (run `inv lint --fix`):",
        "go.mod/go.sum not tidy",
    )
    if not problems:
        record_pass(c, mod, key)
    return problems


def golangci_lint(
    c: Context,
    mod: Module,
    mode: str,
    args: list[str],
    packages: tuple[str, ...] = ("./...",),
    declared: Callable[[], list[str]] | None = None,
) -> list[str]:
    """`declared`: gives the tools the module's go.mod declares, when the caller asked go
    already (else go is asked here); what asking raised, it raises."""
    from gotasks.go.gotools import add_hint, declared_tools, golangci_config, resolve_tool

    if mode == "off":
        return []
    toolchain, _ = toolchain_of(c.config)
    if declared is not None:
        tools = declared()
    else:
        from gotasks.lookups import declared_tools_of

        tools = declared_tools_of(
            settings_of(c.config).root,
            mod.dir,
            toolchain,
            c.config.run.env,
            lambda: declared_tools(toolchain.go, mod.dir, c.config.run.env),
        )
    tool = resolve_tool("golangci-lint", tools, toolchain.go)
    if tool is None:
        fix = add_hint("golangci-lint")
        if mode == "required":
            console.fail("golangci-lint: neither a go.mod tool nor on PATH")
            return [f"golangci-lint is required by lint.golangci_lint but not installed ({fix})"]
        config = golangci_config(mod.dir, settings_of(c.config).root)
        if config is not None:
            # The project asked for golangci-lint: its absence is news, not a quiet skip.
            shown = os.path.relpath(config, settings_of(c.config).root)
            console.warn(
                f"golangci-lint not run: {shown} configures it, but it is neither"
                f" a go.mod tool nor on PATH ({fix})"
            )
            return []
        console.info("skip golangci-lint (not on PATH; lint.golangci_lint: auto)")
        return []
    result = run_tool(c, [*tool.argv, "run", *args, *packages], mod.dir)
    what = "golangci-lint" + (" (go tool)" if tool.argv[1:2] == ("tool",) else "")
    return tool_verdict(result, what, f"{what}:", "golangci-lint found problems")
