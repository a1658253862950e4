"""What a Go repository already has, as `inv init` reports it: its main packages (and which
look like examples or tools), whether build.version_vars' -X targets exist as string
variables (and which version-like ones do), a golangci-lint config, a .dockerignore that
would send gotasks' output, a Makefile's targets against gotasks' tasks.

The -X check itself is gotasks/go/stamps.py, which the build shares (build.strict_stamps)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gotasks.core.errors import Failure
from gotasks.go.stamps import (
    GoList,
    Package,
    StampProblem,
    grouped,
    parse_go_list,
    stamp_problems,
)

# Folders whose main packages are examples, generators or developer tools, not the product.
NOT_SHIPPED = ("examples", "example", "_examples", "internal/tools", "hack", "tools", "scripts")
# A Makefile target's name -> the gotasks task that does its job.
MAKE_TO_TASK = {
    "lint": "lint",
    "vet": "lint",
    "fmt": "fmt",
    "format": "fmt",
    "test": "test",
    "tests": "test",
    "build": "build",
    "bench": "bench",
    "benchmark": "bench",
    "clean": "clean",
    "install": "install",
    "run": "run",
    "ci": "ci",
    "all": "ci",
    "check": "ci",
    "docker": "docker.build",
    "image": "docker.build",
    "docker-build": "docker.build",
    "env": "env",
}
# build.version_vars keys -> variable names (lower case, no _) that usually hold them.
_ROLE_NAMES = {
    "version": ("version", "appversion", "buildversion", "semver", "gitversion", "gittag", "tag"),
    "commit": ("commit", "gitcommit", "revision", "rev", "commithash", "sha", "gitsha"),
    "commit_date": ("commitdate", "date", "builddate", "buildtime", "buildstamp", "timestamp"),
    "dirty": ("dirty", "treestate", "gittreestate", "modified"),
    "go_version": ("goversion",),
}


def suggested_vars(candidates: Iterable[str]) -> dict[str, str]:
    """build.version_vars from the candidates: each key the first variable whose name is one
    of that key's usual names; "" for a key nothing fits (gotasks then sets nothing)."""
    chosen: dict[str, str] = {}
    names = list(candidates)
    for key, usual in _ROLE_NAMES.items():
        fit = [s for s in names if s.rsplit(".", 1)[-1].lower().replace("_", "") in usual]
        chosen[key] = fit[0] if fit else ""
    return chosen


def not_shipped(rel: str) -> bool:
    """Whether a main package's folder (relative, /-separated) is an example or a tool."""
    parts = rel.strip("./").split("/")
    joined = "/".join(parts)
    return any(
        joined == folder or joined.startswith(folder + "/") or f"/{folder}/" in f"/{joined}/"
        for folder in NOT_SHIPPED
    )


_RULE = re.compile(r"^([^\s:=#%][^:=#]*?)\s*::?(?!=)")


def make_targets(makefile: str) -> list[str]:
    """The explicit targets of a Makefile's rule lines (no pattern rules, no special
    .TARGETS, no variable assignments), in order."""
    targets: list[str] = []
    for line in makefile.splitlines():
        if line.startswith(("\t", " ")):
            continue
        match = _RULE.match(line)
        if not match or "$" in match.group(1):
            continue
        for name in match.group(1).split():
            if not name.startswith(".") and "%" not in name and name not in targets:
                targets.append(name)
    return targets


def map_make_targets(targets: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(target, gotasks task) for those with a counterpart, and the rest."""
    mapped = [(t, MAKE_TO_TASK[t.lower()]) for t in targets if t.lower() in MAKE_TO_TASK]
    return mapped, [t for t in targets if t.lower() not in MAKE_TO_TASK]


@dataclass
class ModuleSurvey:
    rel: str
    path: str
    mains: list[str] = field(default_factory=list)  # ./-relative folders
    unshipped: list[str] = field(default_factory=list)
    problems: list[StampProblem] = field(default_factory=list)
    error: str = ""


@dataclass
class Survey:
    modules: list[ModuleSurvey] = field(default_factory=list)
    golangci: str = ""  # the config file found
    dockerignore_sends: list[str] = field(default_factory=list)  # dist/, .gotasks/
    make_mapped: list[tuple[str, str]] = field(default_factory=list)
    make_unmapped: list[str] = field(default_factory=list)
    makefile: str = ""


def _run_go(folder: Path) -> GoList:
    def run(args: list[str]) -> str:
        out = subprocess.run(
            ["go", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=_go_env(),
        )
        if out.returncode != 0 and not out.stdout.strip():
            last = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
            raise Failure(f"go {' '.join(args[:2])}: {last}")
        return out.stdout

    return run


def _go_env() -> dict[str, str]:
    import os

    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}


def main_packages(go_list: GoList) -> list[Package]:
    fields = "ImportPath,Name,Dir,GoFiles,Deps,Module"
    return [
        p
        for p in parse_go_list(go_list(["list", "-e", f"-json={fields}", "./..."]))
        if p.name == "main"
    ]


def default_version_vars() -> dict[str, str]:
    """build.version_vars as gotasks sets them when the config says nothing."""
    from gotasks.configspec import SPEC
    from gotasks.core.schema import Section, Value

    build = SPEC.fields["build"]
    assert isinstance(build, Section)
    section = build.fields["version_vars"]
    assert isinstance(section, Section)
    return {k: str(v.default) for k, v in section.fields.items() if isinstance(v, Value)}


def survey(root: Path, version_vars: dict[str, str] | None = None) -> Survey:
    """Look at the repository at root (runs `go list`, reads files; writes nothing)."""
    from gotasks.go.gotools import GOLANGCI_CONFIGS
    from gotasks.go.modules import module_dirs, read_module

    if version_vars is None:
        version_vars = default_version_vars()
    found = Survey()
    try:
        dirs = module_dirs(root)
    except Failure:
        dirs = []
    for folder in dirs:
        try:
            module = read_module(root, folder)
        except Failure:
            continue
        item = ModuleSurvey(module.rel, module.path)
        try:
            go_list = _run_go(folder)
            mains = main_packages(go_list)
            item.problems = stamp_problems(mains, version_vars, go_list)
        except (Failure, OSError, subprocess.TimeoutExpired, ValueError) as error:
            item.error = str(error)
            mains = []
        for main in mains:
            rel = main.import_path.removeprefix(module.path).lstrip("/")
            shown = f"./{rel}" if rel else "."
            item.mains.append(shown)
            if not_shipped(rel):
                item.unshipped.append(shown)
                # An example's missing stamps do not matter: it should not be built.
                item.problems = [p for p in item.problems if p.main != main.import_path]
        found.modules.append(item)
    found.golangci = next((n for n in GOLANGCI_CONFIGS if (root / n).is_file()), "")
    found.dockerignore_sends = _dockerignore_sends(root)
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if (root / name).is_file():
            found.makefile = name
            text = (root / name).read_text(encoding="utf-8", errors="replace")
            found.make_mapped, found.make_unmapped = map_make_targets(make_targets(text))
            break
    return found


def _dockerignore_sends(root: Path) -> list[str]:
    from gotasks.container.ignorefile import IgnoreFile

    path = root / ".dockerignore"
    if not path.is_file():
        return []
    try:
        rules = IgnoreFile.read(path)
    except Failure:
        return []
    return [f"{d}/" for d in ("dist", ".gotasks") if not rules.excludes(f"{d}/x")]


def lines(found: Survey) -> list[str]:
    """The survey as init prints it."""
    out = ["survey:"]
    for module in found.modules:
        name = f"{module.rel} ({module.path})" if module.rel != "." else module.path
        if module.error:
            out.append(f"  {name}: could not list its packages: {module.error}")
            continue
        out.append(f"  {name}: main packages: {', '.join(module.mains) or 'none (a library)'}")
        if module.unshipped:
            shipped = [m for m in module.mains if m not in module.unshipped]
            out.append(
                f"  {name}: {', '.join(module.unshipped)} look like examples or tools: set"
                f" build.packages: [{', '.join(shipped)}] (else inv build cross-builds them too)"
            )
        out += [f"  {text}" for text in grouped(module.problems)]
    if found.golangci:
        out.append(
            f"  {found.golangci}: set lint.golangci_lint: required and pin golangci-lint:"
            " inv tools.add github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest"
        )
    if found.dockerignore_sends:
        out.append(
            f"  .dockerignore sends {' and '.join(found.dockerignore_sends)} to every image"
            " build: add " + ", ".join(f"/{d.rstrip('/')}" for d in found.dockerignore_sends)
        )
    if found.makefile:
        mapped = ", ".join(f"{t} -> inv {task}" for t, task in found.make_mapped) or "none"
        out.append(f"  {found.makefile}: targets gotasks has: {mapped}")
        out.append(
            f"  {found.makefile}: targets left to port (tasks of your own in tasks.py):"
            f" {', '.join(found.make_unmapped) or 'none'}"
        )
    return out if len(out) > 1 else [*out, "  nothing to adjust"]


def config_steps(found: Survey) -> list[str]:
    """The config edits the survey calls for, as next steps: the exact YAML to set."""
    steps = []
    packages = [
        (m, [x for x in m.mains if x not in m.unshipped]) for m in found.modules if m.unshipped
    ]
    for module, shipped in packages[:1]:
        steps.append(f"edit config/base.yaml: build: packages: [{', '.join(shipped)}]")
        del module
    candidates: list[str] = []
    for module in found.modules:
        for problem in module.problems:
            candidates += [c for c in problem.candidates if c not in candidates]
    if any(m.problems for m in found.modules):
        chosen = suggested_vars(candidates)
        pairs = ", ".join(f'{k}: "{v}"' for k, v in chosen.items())
        steps.append(f"edit config/base.yaml: build: version_vars: {{{pairs}}}")
    if found.golangci:
        steps.append("edit config/base.yaml: lint: golangci_lint: required")
        steps.append("inv tools.add github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest")
    if found.dockerignore_sends:
        steps.append(
            "add to .dockerignore: "
            + ", ".join(f"/{d.rstrip('/')}" for d in found.dockerignore_sends)
        )
    return steps
