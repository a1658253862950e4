"""Read and write the Go benchmark text format that `go test -bench` prints.

The format is specified in https://go.googlesource.com/proposal/+/master/design/14313-benchmark-format.md:
`key: value` configuration lines set a key for every result line that follows them (until the
key is set again), and result lines are `BenchmarkName-PROCS  ITERATIONS  VALUE UNIT ...`.
Every other line (PASS, ok, FAIL, --- BENCH logs, blank lines) is ignored, and a malformed
line is skipped rather than raising, since the input is often a captured terminal log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "BenchKey",
    "BenchResult",
    "Samples",
    "format_results",
    "group",
    "parse",
    "parse_file",
    "short_name",
    "write_file",
]

BenchKey: TypeAlias = tuple[str, str]
"""(pkg, name): the identity of a benchmark across runs."""

Samples: TypeAlias = dict[str, list[float]]
"""unit -> the values measured for that unit, one per result line, in file order."""

_PROCS_SUFFIX = re.compile(r"-(\d+)$")


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One result line, with the configuration in force where it appeared."""

    pkg: str
    name: str  # as written, e.g. "BenchmarkEncode/json-8"
    iterations: int
    values: dict[str, float]  # unit -> value, e.g. {"ns/op": 1043.0, "B/op": 128.0}
    config: dict[str, str] = field(default_factory=dict)  # every config key, pkg included

    @property
    def key(self) -> BenchKey:
        return (self.pkg, self.name)

    @property
    def procs(self) -> int | None:
        """The GOMAXPROCS suffix of the name (go test omits it when GOMAXPROCS is 1)."""
        m = _PROCS_SUFFIX.search(self.name)
        return int(m.group(1)) if m else None

    @property
    def short_name(self) -> str:
        return short_name(self.name)


def short_name(name: str) -> str:
    """The name without "Benchmark", as benchstat shows it (the -PROCS suffix is kept)."""
    return name.removeprefix("Benchmark") or name


def _parse_config_line(line: str) -> tuple[str, str] | None:
    """Split a `key: value` line; None when the line is not one (the spec's rules)."""
    key, colon, value = line.partition(":")
    # A key starts with a lower-case letter and has no spaces or upper-case letters, which
    # is what keeps "ok  \tpkg\t0.1s", "PASS" and "--- BENCH: ..." from looking like config.
    if not colon or not key or not key[0].islower():
        return None
    if any(c.isspace() or c.isupper() for c in key):
        return None
    if value and value[0] not in " \t":
        return None  # "key:value" without a separator is not a config line
    return key, value.strip(" \t")


def _parse_result_line(line: str) -> tuple[str, int, dict[str, float]] | None:
    fields = line.split()
    # `go test -v` prints the bare name when a benchmark starts: a name with no results.
    if len(fields) < 4 or len(fields) % 2 != 0:
        return None
    name, iters, pairs = fields[0], fields[1], fields[2:]
    if not (iters.isascii() and iters.isdigit()):
        return None
    values: dict[str, float] = {}
    for i in range(0, len(pairs), 2):
        try:
            value = float(pairs[i])
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values[pairs[i + 1]] = value
    return name, int(iters), values


def parse(text: str) -> list[BenchResult]:
    """Parse benchmark output into results, in file order; unparseable lines are skipped."""
    config: dict[str, str] = {}
    results: list[BenchResult] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        if line.startswith("Benchmark"):
            parsed = _parse_result_line(line)
            if parsed is not None:
                name, iters, values = parsed
                pkg = config.get("pkg", "")
                results.append(BenchResult(pkg, name, iters, values, dict(config)))
            continue
        kv = _parse_config_line(line)
        if kv is None:
            continue
        key, value = kv
        # The spec: an empty value removes the key from the configuration.
        if value:
            config[key] = value
        else:
            config.pop(key, None)
    return results


def parse_file(path: str | Path) -> list[BenchResult]:
    """Parse a file of benchmark output; undecodable bytes are replaced, not fatal."""
    return parse(Path(path).read_text(encoding="utf-8", errors="replace"))


def group(results: Iterable[BenchResult]) -> dict[BenchKey, Samples]:
    """Collect the samples of each benchmark: (pkg, name) -> unit -> values.

    Keys and units keep the order in which they first appear.
    """
    grouped: dict[BenchKey, Samples] = {}
    for r in results:
        samples = grouped.setdefault(r.key, {})
        for unit, value in r.values.items():
            samples.setdefault(unit, []).append(value)
    return grouped


def _format_value(value: float) -> str:
    # Whole numbers as integers (as go test prints ns/op and B/op); anything else in the
    # shortest form that reads back to the same float. float() for callers passing ints.
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_results(results: Iterable[BenchResult]) -> str:
    """Render results in the benchmark format; parse() of the output gives them back.

    Config lines are written only where the configuration changes, as go test does.
    """
    lines: list[str] = []
    current: dict[str, str] = {}
    for r in results:
        wanted = dict(r.config)
        if r.pkg:
            wanted["pkg"] = r.pkg
        else:
            wanted.pop("pkg", None)
        for key in sorted(current.keys() - wanted.keys()):
            lines.append(f"{key}:")  # an empty value unsets the key
        for key, value in wanted.items():
            if current.get(key) != value:
                lines.append(f"{key}: {value}")
        current = wanted
        pairs = "\t".join(f"{_format_value(v)} {unit}" for unit, v in r.values.items())
        lines.append(f"{r.name}\t{r.iterations:>10d}\t{pairs}")
    return "".join(line + "\n" for line in lines)


def write_file(path: str | Path, results: Iterable[BenchResult]) -> None:
    """Write results to path in the benchmark format (what benchstat reads)."""
    Path(path).write_text(format_results(results), encoding="utf-8")
