"""Follow the event stream of `go test -json` and sum it up per package and per test.

`go test -json` (test2json, https://pkg.go.dev/cmd/test2json) prints one JSON object a line:
Time, Action (start, run, pause, cont, pass, bench, fail, output, skip, build-output,
build-fail), Package, Test, Elapsed, Output, and since Go 1.24 ImportPath (on build-output and
build-fail events) and FailedBuild (on the fail event of a package whose build failed).

`TestRun` is fed line by line while the subprocess runs, so the caller can stream its output.
Lines that are not events (go's own messages, `# pkg` compiler headers of Go < 1.24 merged from
stderr, garbage) are kept as stray output and never raise. The results it fills are
go/testresults.py's; go/testsummary.py reports a finished run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar

from gotasks.go.testresults import (
    BUILD_FAILED_MARKERS,
    Counts,
    PackageResult,
    Status,
    TestResult,
)

__all__ = ["TestRun", "parse"]

_COVERAGE = re.compile(r"coverage: (\d+(?:\.\d+)?)% of statements")
_CACHED = re.compile(r"ok\s+\S+\s+\(cached\)")


def _str(event: dict[str, Any], key: str) -> str | None:
    value = event.get(key)
    return value if isinstance(value, str) else None


def _float(event: dict[str, Any], key: str) -> float | None:
    value = event.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _time(event: dict[str, Any]) -> datetime | None:
    text = _str(event, "Time")
    if text is None:
        return None
    try:
        # Python 3.11 reads RFC 3339 with 'Z' and truncates Go's nanoseconds to microseconds.
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _decode(line: str) -> dict[str, Any] | None:
    """The event on this line, or None when the line is not a test2json event."""
    if not line.lstrip().startswith("{"):
        return None
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None
    if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
        return None
    return event


def _matches_package(key: str, package: str) -> bool:
    # Build keys look like "example.com/m/bad" or "example.com/m/bad [example.com/m/bad.test]".
    return key == package or key.startswith(package + " ")


class TestRun:
    """The state of one `go test -json` run, built up by `feed` as lines arrive."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        # echo: given the text of every output event and stray line as it arrives
        # (inv test --verbose streams what go test -v would print)
        self._echo = echo
        self._packages: dict[str, PackageResult] = {}
        self._seq = 0
        # Stray lines with the `# pkg` header they follow, if any: Go < 1.24 prints compiler
        # errors as plain text under such a header, so a build failure can still be explained.
        self._stray: list[tuple[str | None, str]] = []
        self._stray_key: str | None = None
        self._used_stray_keys: set[str] = set()
        self._build: dict[str, list[str]] = {}  # ImportPath -> build-output lines
        self._build_failed: list[str] = []  # ImportPaths with a build-fail event, in order
        # Build failures of packages that were not tested (dependencies): ImportPath -> output
        self._dependency_failures: dict[str, list[str]] = {}
        self._finished = False

    # -- input --------------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        """Take one line of go's stdout (with or without its newline). Never raises."""
        text = line.rstrip("\r\n")
        if not text.strip():
            return
        event = _decode(text)
        if event is None:
            self._add_stray(text)
            if self._echo is not None:
                self._echo(text + "\n")
            return
        if self._echo is not None and isinstance(event.get("Output"), str):
            self._echo(event["Output"])
        self._stray_key = None  # an event ends any `# pkg` block of stray lines
        self._seq += 1
        self._handle(event)

    def feed_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.feed(line)

    def finish(self) -> None:
        """Close the run once go has exited: settle packages and tests that never ended.

        A package without a final event (go was killed, or the stream was cut) counts as failed,
        and so do the tests still running in a failed package.
        """
        for package in self._packages.values():
            if package.status is Status.RUNNING:
                package.status = Status.FAIL
            self._settle(package, None)
        self._add_orphan_build_failures()
        self._finished = True

    # -- results ------------------------------------------------------------------------------

    @property
    def packages(self) -> list[PackageResult]:
        """Every package, in the order go first mentioned it."""
        return list(self._packages.values())

    def package(self, name: str) -> PackageResult | None:
        return self._packages.get(name)

    @property
    def stray_output(self) -> list[str]:
        """Every line that was not an event, in order."""
        return [text for _, text in self._stray]

    @property
    def unexplained_stray_output(self) -> list[str]:
        """Stray lines, minus the `# pkg` blocks already shown as some package's build output."""
        return [text for key, text in self._stray if key not in self._used_stray_keys]

    @property
    def build_outputs(self) -> dict[str, list[str]]:
        """ImportPath -> its build-output lines (Go >= 1.24)."""
        return {key: list(lines) for key, lines in self._build.items()}

    @property
    def dependency_failures(self) -> dict[str, list[str]]:
        """Packages that were not tested and did not build (dependencies) -> their output."""
        return {name: list(lines) for name, lines in self._dependency_failures.items()}

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def failed(self) -> bool:
        return any(p.failed for p in self._packages.values())

    @property
    def counts(self) -> Counts:
        total = Counts()
        for package in self._packages.values():
            total += package.counts
        return total

    # -- event handling -----------------------------------------------------------------------

    def _add_stray(self, text: str) -> None:
        if text.startswith("# "):
            self._stray_key = text[2:].strip()
        self._stray.append((self._stray_key, text))

    def _package_for(self, name: str) -> PackageResult:
        package = self._packages.get(name)
        if package is None:
            package = self._packages[name] = PackageResult(name)
        return package

    def _handle(self, event: dict[str, Any]) -> None:
        action = event["Action"]
        output = _str(event, "Output")
        import_path = _str(event, "ImportPath")
        package_name = _str(event, "Package")
        if action in ("build-output", "build-fail") and import_path is not None:
            lines = self._build.setdefault(import_path, [])
            if action == "build-fail":
                self._build_failed.append(import_path)
            elif output is not None:
                lines.append(output)
            return
        if not package_name:
            if output is not None:
                self._stray.append((None, output.rstrip("\r\n")))
            return
        package = self._package_for(package_name)
        test_name = _str(event, "Test")
        if test_name:
            self._handle_test(package, test_name, action, event, output)
        else:
            self._handle_package(package, action, event, output)

    def _handle_package(
        self, package: PackageResult, action: str, event: dict[str, Any], output: str | None
    ) -> None:
        if action == "start":
            package.started = _time(event)
        elif action == "output" and output is not None:
            package.chunks.append((self._seq, output))
            match = _COVERAGE.search(output)
            if match:
                package.coverage = float(match.group(1))
            if _CACHED.match(output):
                package.cached = True
        elif action in (Status.PASS, Status.FAIL, Status.SKIP):
            package.status = Status(action)
            package.elapsed = _float(event, "Elapsed") or 0.0
            package.failed_build = _str(event, "FailedBuild")
            if package.status is Status.FAIL and self._build_failed_marker(package):
                package.status = Status.BUILD_FAILED
            self._settle(package, _time(event))

    def _handle_test(
        self,
        package: PackageResult,
        name: str,
        action: str,
        event: dict[str, Any],
        output: str | None,
    ) -> None:
        test = package.test(name)
        # A new record on `run` of a test that already ended: -count=N runs it again.
        if test is None or (action == "run" and test.status is not Status.RUNNING):
            parent = package.test(name.rpartition("/")[0]) if "/" in name else None
            test = TestResult(package.name, name, parent=parent)
            if parent is not None:
                parent.subtests.append(test)
            package.tests.append(test)
            package._latest[name] = test
        if action == "run":
            test.started = _time(event)
        elif action == "output" and output is not None:
            test.chunks.append((self._seq, output))
        elif action in (Status.PASS, Status.FAIL, Status.SKIP, "bench"):
            # "bench": a benchmark that logged output and did not fail.
            test.status = Status.PASS if action == "bench" else Status(action)
            test.elapsed = _float(event, "Elapsed") or 0.0

    def _build_failed_marker(self, package: PackageResult) -> bool:
        if package.failed_build:
            return True
        # Before Go 1.24 the only sign is go's "FAIL\tpkg [build failed]" line.
        return any(
            text.startswith("FAIL\t") and any(m in text for m in BUILD_FAILED_MARKERS)
            for _, text in package.chunks
        )

    def _settle(self, package: PackageResult, ended: datetime | None) -> None:
        """Give a package that has ended its build output, and its unfinished tests a status."""
        if package.status is Status.RUNNING:
            return
        if package.status is Status.BUILD_FAILED and not package.build_output:
            package.build_output = self._build_output_for(package)
        # go sends no final event for a test cut short by a timeout or for a benchmark, so
        # such a test takes its package's verdict.
        verdict = Status.FAIL if package.failed else Status.PASS
        for test in package.tests:
            if test.status is Status.RUNNING:
                test.status = verdict
                if ended is not None and test.started is not None:
                    test.elapsed = max(0.0, (ended - test.started).total_seconds())

    def _build_output_for(self, package: PackageResult) -> list[str]:
        if package.failed_build is not None and package.failed_build in self._build:
            return list(self._build[package.failed_build])
        for key, lines in self._build.items():
            if _matches_package(key, package.name):
                return list(lines)
        # Go < 1.24: compiler errors arrive as stray text under a "# pkg" header.
        keys = {key for key, _ in self._stray if key and _matches_package(key, package.name)}
        if package.failed_build is not None:
            keys |= {key for key, _ in self._stray if key == package.failed_build}
        self._used_stray_keys |= keys
        return [text + "\n" for key, text in self._stray if key in keys]

    def _add_orphan_build_failures(self) -> None:
        """Keep a build failure no tested package points at (so it is never lost): a package
        outside the tested ones, a dependency, which is not counted as one of them."""
        referenced = {p.failed_build for p in self._packages.values()}
        for import_path in self._build_failed:
            name = import_path.split(" ", 1)[0]
            if import_path in referenced or name in self._packages:
                continue
            self._dependency_failures[name] = list(self._build.get(import_path, []))


def parse(lines: Iterable[str]) -> TestRun:
    """A finished TestRun from all of go's output at once (a saved log, a test)."""
    run = TestRun()
    run.feed_lines(lines)
    run.finish()
    return run
