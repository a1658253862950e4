"""The report of a finished `go test -json` run (go/testjson.py follows the stream): a line
per package, then each failing test with only its own output; build output that many
packages repeat is shown once."""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from gotasks.go.testjson import TestRun
from gotasks.go.testresults import (
    BUILD_FAILED_MARKERS,
    PackageResult,
    Status,
    failure_output,
    package_failure_output,
)

# A dependency go could not fetch: "file.go:3:2: mod@v1.2.3: Get "URL": CAUSE", or
# "mod@v1.2.3: reading URL: CAUSE". Every module of an unreachable proxy fails with the same
# CAUSE, which is shown once with the count.
_DOWNLOAD_ERROR = re.compile(
    r'^(?:\S+:\d+:\d+: )?(?P<module>\S+@\S+): (?:Get|reading) "?[^"\s]+"?: (?P<cause>.+)$'
)


LineKind = Literal["pass", "fail", "skip", "output", "plain"]


class SummaryLine(NamedTuple):
    """A line of the summary and what it is, so that the caller can colour it."""

    kind: LineKind
    text: str


def _package_line(package: PackageResult, width: int) -> SummaryLine:
    kind: LineKind
    if package.status is Status.BUILD_FAILED:
        kind, tag = "fail", "FAIL"
        marker = next(
            (m for m in BUILD_FAILED_MARKERS if m in package.output), BUILD_FAILED_MARKERS[0]
        )
        detail = marker
    elif package.status is Status.SKIP:
        kind, tag, detail = "skip", "?", "[no test files]"
    else:
        kind, tag = ("fail", "FAIL") if package.failed else ("pass", "ok")
        if package.status is Status.RUNNING:
            kind, tag = "plain", "..."
        # as go test says it: a cached result took no time now, and its counts are the run's
        took = "(cached)" if package.cached else f"{package.elapsed:.2f}s"
        detail = f"{took}  {package.top_level_counts.describe()}"
        subtests = package.subtest_counts
        if subtests.total:
            detail += f" (subtests: {subtests.describe()})"
        if package.coverage is not None:
            detail += f"  coverage: {package.coverage:.1f}%"
    return SummaryLine(kind, f"{tag:<4}  {package.name:<{width}}  {detail}")


def _output_lines(text: str) -> list[SummaryLine]:
    return [SummaryLine("output", line) for line in text.rstrip("\n").splitlines()]


def summary_lines(run: TestRun) -> list[SummaryLine]:
    """The summary of `render_summary`, line by line, each with its kind."""
    packages = run.packages
    width = max((len(p.name) for p in packages), default=0)
    lines = [_package_line(p, width) for p in packages]
    repeats = _Repeats(run)
    for package in packages:
        if not package.failed:
            continue
        for test in package.failed_tests:
            lines.append(SummaryLine("plain", ""))
            lines.append(
                SummaryLine("fail", f"FAIL: {test.name} ({package.name}, {test.elapsed:.2f}s)")
            )
            lines.extend(_output_lines(failure_output(test)))
        extra = package_failure_output(package)
        if package.status is Status.BUILD_FAILED:
            extra = repeats.first_time(extra)
        if extra.strip():
            what = {
                Status.BUILD_FAILED: "build output",
                Status.FAIL: "package output" if package.failed_tests else "no failed test",
            }.get(package.status, "output")
            lines.append(SummaryLine("plain", ""))
            lines.append(SummaryLine("fail", f"FAIL: {package.name} ({what})"))
            lines.extend(_output_lines(extra))
    for name, output in run.dependency_failures.items():
        extra = repeats.first_time("".join(output))
        if extra.strip():
            lines.append(SummaryLine("plain", ""))
            lines.append(SummaryLine("fail", f"FAIL: {name} (a dependency; build output)"))
            lines.extend(_output_lines(extra))
    stray = [line for line in run.unexplained_stray_output if line.strip()]
    if stray and (run.failed or not packages):
        lines.append(SummaryLine("plain", ""))
        lines.append(SummaryLine("plain", "Output outside any package:"))
        lines.extend(SummaryLine("output", line) for line in stray)
    lines.append(SummaryLine("plain", ""))
    lines.append(_total_line(run))
    return lines


class _Repeats:
    """Build output shown once however many packages repeat it: the first time with how
    often it came, every later time left out. A download error counts by its cause (the
    same unreachable proxy for every module), other lines as they are."""

    def __init__(self, run: TestRun) -> None:
        outputs = [
            "".join(p.build_output)
            for p in run.packages
            if p.status is Status.BUILD_FAILED and p.build_output
        ]
        outputs += ["".join(lines) for lines in run.dependency_failures.values()]
        self.modules: dict[str, list[str]] = {}  # key -> the modules (or lines) it came from
        for output in outputs:
            for line in output.splitlines():
                key, module = _repeat_key(line)
                if key is not None:
                    found = self.modules.setdefault(key, [])
                    if module not in found:
                        found.append(module)
        self.shown: set[str] = set()

    def first_time(self, output: str) -> str:
        """`output` without the lines already shown; a block left with only its `# pkg`
        header is nothing."""
        kept: list[str] = []
        for line in output.splitlines():
            key, _ = _repeat_key(line)
            if key is None:
                kept.append(line)
                continue
            if key in self.shown:
                continue
            self.shown.add(key)
            kept.append(line)
            others = [m for m in self.modules.get(key, []) if m not in line]
            if others:
                listed = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                kept.append(f"  (the same error for {len(others)} more modules: {listed})")
        if all(line.startswith("# ") or not line.strip() for line in kept):
            return ""
        return "".join(line + "\n" for line in kept)


def _repeat_key(line: str) -> tuple[str | None, str]:
    """(what makes two lines the same error, what this one is about); None: a header."""
    if line.startswith("# ") or not line.strip():
        return None, ""
    download = _DOWNLOAD_ERROR.match(line)
    if download:
        return "download: " + download.group("cause"), download.group("module")
    return line, line


def _total_line(run: TestRun) -> SummaryLine:
    packages = run.packages
    failed = sum(p.failed for p in packages)
    tests = f"tests: {run.counts.describe()}"
    dependencies = len(run.dependency_failures)
    if dependencies:
        tests += (
            f"; {dependencies} dependency package{'s' if dependencies > 1 else ''} did not build"
        )
    if failed:
        return SummaryLine("fail", f"FAIL: {failed} of {len(packages)} packages failed; {tests}")
    if not packages:
        return SummaryLine("plain", "no packages were tested")
    return SummaryLine("pass", f"ok: {len(packages)} packages; {tests}")


def render_summary(run: TestRun) -> str:
    """A colourless report: a line per package, then each failure with only its own output."""
    return "\n".join(line.text for line in summary_lines(run)) + "\n"
