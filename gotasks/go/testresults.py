"""The results of a `go test -json` run, per package and per test (go/testjson.py fills them
from the event stream): statuses, counts, and what a test or package printed, without the
framing lines go adds around it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "BUILD_FAILED_MARKERS",
    "Counts",
    "PackageResult",
    "Status",
    "TestResult",
    "failure_output",
    "package_failure_output",
    "skip_reason",
]

# Lines test2json adds to every test's output in -v mode; they say nothing about a failure.
_FRAMING = ("=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME ")
# The lines `go test` prints around every package's results: noise in a failure report.
_BOILERPLATE = re.compile(
    r"(PASS|FAIL|ok  \t.*|FAIL\t.*|\?   \t.*|coverage: .*|exit status \d+"
    r"|(goos|goarch|pkg|cpu): .*|testing: warning: no tests to run)"
)
# The tag go test puts on the FAIL line of a package that did not build.
BUILD_FAILED_MARKERS = ("[build failed]", "[setup failed]")


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    BUILD_FAILED = "build-failed"  # packages only
    RUNNING = "running"  # no final event yet


@dataclass(frozen=True, slots=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped
        )

    def describe(self) -> str:
        """Say "3 passed, 1 skipped": zero counts are left out, and all zero is "no tests"."""
        parts = [
            f"{n} {word}"
            for n, word in (
                (self.passed, "passed"),
                (self.failed, "failed"),
                (self.skipped, "skipped"),
            )
            if n
        ]
        return ", ".join(parts) or "no tests"


def _count(tests: Iterable[TestResult]) -> Counts:
    statuses = [t.status for t in tests]
    return Counts(
        statuses.count(Status.PASS), statuses.count(Status.FAIL), statuses.count(Status.SKIP)
    )


def _is_framing(chunk: str) -> bool:
    return chunk.startswith(_FRAMING)


class _Chunked:
    """Output kept as (stream position, text) chunks: a test's own, framing lines (=== RUN
    ...) included, as go printed it; a package's, what belongs to no test (PASS/FAIL/ok
    lines, init panics, TestMain prints)."""

    chunks: list[tuple[int, str]]

    @property
    def output(self) -> str:
        return "".join(text for _, text in self.chunks)

    @property
    def output_lines(self) -> list[str]:
        return self.output.splitlines()


@dataclass(eq=False)
class TestResult(_Chunked):
    """One run of one test (a subtest's name has a '/': "TestParse/empty")."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name

    package: str
    name: str
    status: Status = Status.RUNNING
    elapsed: float = 0.0  # seconds
    started: datetime | None = None
    parent: TestResult | None = field(default=None, repr=False)
    subtests: list[TestResult] = field(default_factory=list, repr=False)
    # (stream position, text) of this test's Output events: the position orders the output of
    # a parent and its subtests, which go interleaves.
    chunks: list[tuple[int, str]] = field(default_factory=list, repr=False)

    @property
    def is_subtest(self) -> bool:
        return "/" in self.name


@dataclass(eq=False)
class PackageResult(_Chunked):
    """One package of the run; `tests` holds every test and subtest in the order they ran."""

    name: str
    status: Status = Status.RUNNING
    elapsed: float = 0.0  # seconds, as go measured the package (0 when it did not build)
    started: datetime | None = None
    coverage: float | None = None  # percent of statements, when run with -cover
    cached: bool = False  # go reused a cached result: `ok  pkg  (cached)`
    failed_build: str | None = None  # the ImportPath whose build failed (Go >= 1.24)
    build_output: list[str] = field(default_factory=list)  # compiler output, line by line
    tests: list[TestResult] = field(default_factory=list)
    chunks: list[tuple[int, str]] = field(default_factory=list, repr=False)  # package output
    _latest: dict[str, TestResult] = field(default_factory=dict, repr=False)

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAIL, Status.BUILD_FAILED)

    @property
    def counts(self) -> Counts:
        """Tests and subtests together."""
        return _count(self.tests)

    @property
    def top_level_counts(self) -> Counts:
        return _count(t for t in self.tests if not t.is_subtest)

    @property
    def subtest_counts(self) -> Counts:
        return _count(t for t in self.tests if t.is_subtest)

    @property
    def failed_tests(self) -> list[TestResult]:
        """The failed tests whose parent did not fail: a failed parent reports its subtests."""
        return [
            t
            for t in self.tests
            if t.status is Status.FAIL and (t.parent is None or t.parent.status is not Status.FAIL)
        ]

    def test(self, name: str) -> TestResult | None:
        """The latest run of the test called `name` (-count=N runs a test N times)."""
        return self._latest.get(name)


def _failure_chunks(test: TestResult) -> list[tuple[int, str]]:
    chunks = list(test.chunks)
    for sub in test.subtests:
        if sub.status is Status.FAIL:
            chunks.extend(_failure_chunks(sub))
    return chunks


def failure_output(test: TestResult) -> str:
    """What `go test` shows for a failed test: its own output and that of its failed subtests.

    The lines come in the order go printed them; the === RUN/PAUSE/CONT/NAME framing lines and
    passing subtests' output are left out.
    """
    chunks = sorted(_failure_chunks(test), key=lambda chunk: chunk[0])
    return "".join(text for _, text in chunks if not _is_framing(text))


def skip_reason(test: TestResult) -> str:
    """The message a skipped test gave t.Skip, or "" (the last line before --- SKIP)."""
    lines = [
        line.strip()
        for line in test.output_lines
        if line.strip() and not _is_framing(line) and not line.startswith("--- SKIP")
    ]
    return lines[-1] if lines else ""


def package_failure_output(package: PackageResult) -> str:
    """Why a package failed, beyond its failed tests.

    For a build failure, the compiler's output. Otherwise the package-level output without the
    PASS/FAIL/ok boilerplate (a panic in TestMain, a timeout), or all of it when no test failed,
    since then it is the only clue (an init panic, os.Exit in TestMain).
    """
    if package.status is Status.BUILD_FAILED:
        return "".join(package.build_output) or package.output
    if not package.failed:
        return ""
    if not package.failed_tests:
        return package.output
    return "".join(
        line
        for line in package.output.splitlines(keepends=True)
        if not _BOILERPLATE.fullmatch(line.rstrip("\r\n"))
    )
