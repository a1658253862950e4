"""JUnit files of several shards joined into one report, with the totals CI readers show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gotasks.core.errors import UsageError

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

KINDS = ("failures", "errors", "skipped")


@dataclass(frozen=True)
class Totals:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    time: float = 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.tests + other.tests,
            self.failures + other.failures,
            self.errors + other.errors,
            self.skipped + other.skipped,
            self.time + other.time,
        )

    def describe(self) -> str:
        passed = self.tests - self.failures - self.errors - self.skipped
        words = [f"{passed} passed"] + [
            f"{n} {word}"
            for n, word in (
                (self.failures, "failed"),
                (self.errors, "errors"),
                (self.skipped, "skipped"),
            )
            if n
        ]
        return f"{self.tests} tests: " + ", ".join(words)


def suite_totals(suite: ET.Element) -> Totals:
    """Counted from the testcases themselves, not from attributes a writer may get wrong."""
    cases = suite.findall("testcase")
    has = {
        kind: sum(case.find(tag) is not None for case in cases)
        for kind, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped"))
    }
    try:
        seconds = float(suite.get("time") or 0)
    except ValueError:
        seconds = 0.0
    return Totals(len(cases), has["failures"], has["errors"], has["skipped"], seconds)


def read_suites(path: Path) -> list[ET.Element]:
    """The <testsuite> elements of a JUnit file; a file that is not one is one line."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        line = error.position[0]
        raise UsageError(f"{path}:{line}: not a JUnit file: not XML ({error})") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read the JUnit file: {error.strerror}") from None
    if root.tag == "testsuite":
        return [root]
    if root.tag != "testsuites":
        raise UsageError(f"{path}: not a JUnit file: its root is <{root.tag}>, not <testsuites>")
    return root.findall("testsuite")


def merge(suites: list[ET.Element], name: str = "go test (merged shards)") -> ET.Element:
    """One <testsuites> holding every suite, with the summed totals."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", {"name": name})
    total = Totals()
    for suite in suites:
        root.append(suite)
        total += suite_totals(suite)
    for key in ("tests", *KINDS):
        root.set(key, str(getattr(total, key)))
    root.set("time", f"{total.time:.3f}")
    return root


def failed_cases(suites: list[ET.Element]) -> list[str]:
    """ "package TestName" for each failed or erred testcase."""
    return [
        f"{case.get('classname', '')} {case.get('name', '')}".strip()
        for suite in suites
        for case in suite.findall("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
