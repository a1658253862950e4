"""`inv tools.add PATH@VERSION`: pin a Go tool in the module's go.mod (`go get -tool`), so
lint and bench run that version through `go tool NAME` on every machine."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import go, module_header, module_of, toolchain_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.engine import task


@task(
    cpu=1,
    mem="512M",
    each="module",
    positional=["tool"],
    help={
        "tool": "the tool's package and version, e.g. golang.org/x/perf/cmd/benchstat@v0.0.0-..."
        " (no @VERSION: the latest)",
        "module": "only this module (its folder or module path); default: every module",
    },
)
def add(c: Context, tool: str, module: str | None = None) -> None:
    """Pin a Go tool in go.mod with go get -tool; lint and bench then run it with go tool."""
    from gotasks.go.gotools import TOOL_DIRECTIVES_SINCE, tool_name
    from gotasks.go.version import GoVersion

    assert module is not None
    package, _, version = tool.partition("@")
    if not package or package.startswith("-") or (tool.endswith("@") and not version):
        raise UsageError(
            f"tools.add: expected PATH@VERSION (e.g. golang.org/x/perf/cmd/benchstat@latest),"
            f" got {tool!r}"
        )
    toolchain, _ = toolchain_of(c.config)
    if toolchain.version < GoVersion.parse(TOOL_DIRECTIVES_SINCE):
        raise UsageError(
            f"tools.add: tool directives need Go {TOOL_DIRECTIVES_SINCE} or later;"
            f" this run uses {toolchain.version_text}"
        )
    mod = module_of(c, module)
    module_header(c, "tools.add", mod)
    result = go(c, ["get", "-tool", tool], mod.dir)
    if result.exited != 0:
        console.info((result.stdout + result.stderr).rstrip())
        raise TaskFailed(
            f"tools.add {mod.label}: go get -tool {tool} failed (exit {result.exited})"
        )
    console.ok(f"{mod.rel}/go.mod: tool {package}; run it with go tool {tool_name(package)}")


def collection() -> Collection:
    tools = Collection("tools")
    tools.add_task(add)
    return tools
