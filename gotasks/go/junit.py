"""Write a `go test -json` run as JUnit XML, the report CI test reporters read.

The layout is the common denominator of Jenkins, GitLab and the GitHub test-report actions:
<testsuites> holds a <testsuite> per package and a <testcase classname=PKG name=TEST> per test or
subtest, with <failure> (the test's own output), <skipped> and <system-out> (the package's
output). Those readers only look for <error> inside a <testcase>, so a build failure, or a
package that failed without a failing test, is reported as an <error> in a stand-in testcase.
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from gotasks.core.files import atomic_write_text
from gotasks.core.scrub import scrub
from gotasks.go.testjson import TestRun
from gotasks.go.testresults import (
    PackageResult,
    Status,
    failure_output,
    package_failure_output,
    skip_reason,
)

__all__ = [
    "BUILD_FAILED_CASE",
    "PACKAGE_FAILED_CASE",
    "junit_element",
    "write_element",
    "write_junit",
]

BUILD_FAILED_CASE = "[build failed]"
"""The name of the testcase that carries a package's build failure."""
PACKAGE_FAILED_CASE = "[package failed]"
"""The name of the testcase for a package that failed with no failing test (init panic...)."""

# Terminal colour codes, which go tools may print: stripped whole, not left as "[31m".
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Everything XML 1.0 cannot carry, even escaped: control characters, lone surrogates, U+FFFE/F.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """What may go into the XML: no colour codes, nothing XML cannot carry, and none of the
    run's known secrets (tests print go's messages, which may hold a proxy's token)."""
    return scrub(_NOT_XML.sub("", _ANSI.sub("", text)))


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _timestamp(when: datetime | None) -> str:
    # The JUnit schema wants an ISO 8601 date and time without a zone: written in UTC.
    moment = when.astimezone(UTC) if when is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text:
        element.text = _clean(text)
    return element


def _suite(parent: ET.Element, package: PackageResult) -> dict[str, int]:
    # The counts are known only at the end; ElementTree keeps attributes in the order set.
    suite = _sub(parent, "testsuite", name=package.name)
    if package.coverage is not None:
        properties = _sub(suite, "properties")
        _sub(properties, "property", name="coverage", value=f"{package.coverage:.1f}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for test in package.tests:
        case = _sub(
            suite,
            "testcase",
            classname=package.name,
            name=test.name,
            time=_seconds(test.elapsed),
        )
        counts["tests"] += 1
        if test.status is Status.FAIL:
            counts["failures"] += 1
            _sub(case, "failure", failure_output(test), message="Failed", type="failure")
        elif test.status is Status.SKIP:
            counts["skipped"] += 1
            _sub(case, "skipped", message=skip_reason(test) or "Skipped")
        elif test.status is Status.RUNNING:
            # Only when the caller wrote the report before TestRun.finish().
            counts["errors"] += 1
            _sub(case, "error", test.output, message="Did not finish", type="unfinished")
    stand_in = None
    if package.status is Status.BUILD_FAILED:
        stand_in = (BUILD_FAILED_CASE, "Build failed", "build-failed")
    elif package.status is Status.FAIL and not package.failed_tests:
        stand_in = (PACKAGE_FAILED_CASE, "Package failed without a failing test", "package")
    if stand_in is not None:
        name, message, kind = stand_in
        case = _sub(suite, "testcase", classname=package.name, name=name, time="0.000")
        _sub(case, "error", package_failure_output(package), message=message, type=kind)
        counts["tests"] += 1
        counts["errors"] += 1
    if package.output.strip():
        _sub(suite, "system-out", package.output)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", _seconds(package.elapsed))
    suite.set("timestamp", _timestamp(package.started))
    return counts


def junit_element(run: TestRun, name: str = "go test") -> ET.Element:
    """The <testsuites> element for the run (write_junit writes it; this is for tests)."""
    root = ET.Element("testsuites", {"name": _clean(name)})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for package in run.packages:
        for key, value in _suite(root, package).items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(sum(p.elapsed for p in run.packages)))
    return root


def write_junit(run: TestRun, path: str | os.PathLike[str], name: str = "go test") -> Path:
    """Write the run's JUnit XML to `path` (parents created) and return the path.

    Call it after `run.finish()`. A file is replaced atomically (atomic_write_text), so a CI
    reporter never reads half a report, and an earlier report stays whole if writing fails.
    """
    return write_element(junit_element(run, name), path)


def write_element(root: ET.Element, path: str | os.PathLike[str]) -> Path:
    """Write a <testsuites> element as a JUnit file, atomically (see write_junit)."""
    target = Path(path)
    ET.indent(root)
    xml = io.BytesIO()
    ET.ElementTree(root).write(xml, encoding="utf-8", xml_declaration=True)
    atomic_write_text(target, xml.getvalue().decode("utf-8") + "\n")
    return target
