"""The flags of `inv test` (go test's, and gotasks' own), with their help: `inv ci` takes
them too and hands them to its test task."""

from __future__ import annotations

TEST_HELP = {
    "race": "run with the race detector (-race)",
    "cover": "collect coverage into .gotasks/cover/<module>.out and print the total",
    "html": "with the coverage, write it as HTML (go tool cover -html) and print its path",
    "run": "only tests matching this regexp (go test -run)",
    "count": "run each test N times (go test -count; 1 skips the test cache); 0: go's default",
    "short": "tell long tests to shorten themselves (go test -short)",
    "failfast": "stop a package's tests at its first failure (go test -failfast)",
    "verbose": "stream every test's output as it comes (what go test -v prints); still parsed",
    "packages": "these package patterns (space- or comma-separated, e.g. ./pkg/...) instead"
    " of test.packages",
    "junit": "write JUnit XML for CI systems to this file",
    "module": "only this module (its folder or module path); default: every module",
}
TEST_FLAGS = tuple(TEST_HELP)
