"""Whether build.version_vars' -X targets exist as string variables of the main packages they
are given to (the linker ignores one that is not, silently), fed by `go list -json`: the
build's check (build.strict_stamps) and `inv init`'s survey share this one implementation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VERSION_LIKE = re.compile(r"(?i)version|commit|revision|date|build|stamp|dirty|sha|tag")
GoList = Callable[[list[str]], str]  # go list ARGS -> its stdout (JSON stream)


@dataclass(frozen=True)
class Package:
    import_path: str
    name: str
    dir: Path
    go_files: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    module: str = ""


def parse_go_list(stream: str) -> list[Package]:
    """`go list -json`'s stream of objects."""
    return [package_of(item) for item in go_list_items(stream)]


def go_list_items(stream: str) -> list[dict[str, Any]]:
    """`go list -json`'s stream of objects, as they are."""
    decoder = json.JSONDecoder()
    items, at = [], 0
    text = stream.strip()
    while at < len(text):
        item, end = decoder.raw_decode(text, at)
        items.append(item)
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    return items


def package_of(item: dict[str, Any]) -> Package:
    """One `go list -json` object (ImportPath, Name, Dir, GoFiles, Deps, Module) read."""
    return Package(
        import_path=item.get("ImportPath", ""),
        name=item.get("Name", ""),
        dir=Path(item.get("Dir", ".")),
        go_files=tuple(item.get("GoFiles") or ()),
        deps=tuple(item.get("Deps") or ()),
        module=(item.get("Module") or {}).get("Path", ""),
    )


# Comments go; string and rune literals become empty ones (their braces must not count).
_TOKENS = re.compile(
    r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|`[^`]*`|'(?:\\.|[^'\\\n])*'""", re.S
)
_VAR_LINE = re.compile(
    r"""^\s*(?P<names>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*
    (?P<type>[A-Za-z_][\w.]*)?\s*(?:=\s*(?P<value>.*))?$""",
    re.X,
)


def _blank(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.startswith("/"):
        return "\n" * token.count("\n")  # a comment: its line breaks stay
    return token[0] * 2  # "", ``, ''


def string_variables(source: str) -> list[str]:
    """The package-level variables of one Go file that -X can set: declared `string`, or
    given a string literal (`var version = "dev"`), outside any function body."""
    text = _TOKENS.sub(_blank, source)
    found: list[str] = []
    depth = 0
    block = False
    for line in text.splitlines():
        at_top = depth == 0
        depth += line.count("{") - line.count("}")
        if not at_top:
            continue
        stripped = line.strip()
        if block:
            if stripped.startswith(")"):
                block = False
            else:
                found += _string_names(stripped)
        elif re.match(r"var\s*\(", stripped):
            block = True
            found += _string_names(stripped.split("(", 1)[1].strip())
        elif re.match(r"var\s", stripped):
            found += _string_names(stripped[3:].strip())
    return found


def _string_names(spec: str) -> list[str]:
    match = _VAR_LINE.match(spec)
    if not spec or not match:
        return []
    kind, value = match.group("type"), (match.group("value") or "").strip()
    if kind == "string" or (kind is None and value[:1] in ('"', "`")):
        return [name.strip() for name in match.group("names").split(",")]
    return []


def package_strings(package: Package) -> list[str]:
    names: list[str] = []
    for name in package.go_files:
        try:
            names += string_variables((package.dir / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return sorted(set(names))


@dataclass(frozen=True)
class StampProblem:
    """A -X target that is not a string variable of the main package it is given to."""

    main: str  # import path of the main package
    key: str  # build.version_vars key
    symbol: str  # the -X target as configured
    candidates: tuple[str, ...]  # version-like string variables that exist, as -X targets

    def text(self) -> str:
        have = (
            "; string variables that could take it: " + ", ".join(self.candidates)
            if self.candidates
            else "; no version-like string variable found"
        )
        return (
            f"{self.main}: -X {self.symbol} (build.version_vars.{self.key}) sets nothing:"
            f" no string variable {self.symbol.rsplit('.', 1)[-1]} there{have}"
        )


def stamp_problems(
    mains: list[Package], version_vars: dict[str, str], go_list: GoList
) -> list[StampProblem]:
    """Every configured -X target missing from a main package, with the candidates."""
    wanted = {key: symbol for key, symbol in version_vars.items() if symbol}
    if not wanted or not mains:
        return []
    strings: dict[str, list[str]] = {}

    def strings_of(package: Package) -> list[str]:
        if package.import_path not in strings:
            strings[package.import_path] = package_strings(package)
        return strings[package.import_path]

    # Every target in package main and there: nothing to name, so no second go list (the
    # other packages are read only for targets outside main and for the candidates).
    if all(
        symbol.startswith("main.") and symbol.removeprefix("main.") in strings_of(main)
        for main in mains
        for symbol in wanted.values()
    ):
        return []
    local: dict[str, Package] = {}
    others = sorted(
        {
            dep
            for main in mains
            for dep in main.deps
            if main.module and (dep == main.module or dep.startswith(main.module + "/"))
        }
        | {s.rsplit(".", 1)[0] for s in wanted.values() if not s.startswith("main.")}
    )
    if others:
        for listed in parse_go_list(go_list(["list", "-e", "-json", "--", *others])):
            local[listed.import_path] = listed
    problems = []
    for main in mains:
        candidates = tuple(_candidates(main, local, strings_of))
        for key, symbol in wanted.items():
            path, _, variable = symbol.rpartition(".")
            package: Package | None = main if path == "main" else local.get(path)
            reaches = path == "main" or path in main.deps
            if package is not None and reaches and variable in strings_of(package):
                continue
            problems.append(StampProblem(main.import_path, key, symbol, candidates))
    return problems


def _candidates(
    main: Package, local: dict[str, Package], strings_of: Callable[[Package], list[str]]
) -> Iterable[str]:
    for name in strings_of(main):
        if _VERSION_LIKE.search(name):
            yield f"main.{name}"
    for dep in main.deps:
        package = local.get(dep)
        if package is not None and package.name != "main":
            for name in strings_of(package):
                if _VERSION_LIKE.search(name):
                    yield f"{dep}.{name}"


def grouped(problems: list[StampProblem]) -> list[str]:
    """One line per main package: the -X targets that set nothing there, and the
    version-like string variables it has."""
    by_main: dict[str, list[StampProblem]] = {}
    for problem in problems:
        by_main.setdefault(problem.main, []).append(problem)
    out = []
    for main, found in by_main.items():
        symbols = ", ".join(f"{p.symbol} ({p.key})" for p in found)
        candidates = found[0].candidates
        have = (
            f"its version-like string variables: {', '.join(candidates)}"
            if candidates
            else "it has no version-like string variable"
        )
        out.append(
            f"{main}: -X {symbols} set nothing (no such string variable there); {have};"
            " set build.version_vars"
        )
    return out
