"""The config schema: every key a config/<env>.yaml may set, its type, default and check
(SPEC, which core/schema.py applies), and the patterns other modules check values with."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.core.schema import Check, Items, Section, Value, matches
from gotasks.go.goquote import unquotable
from gotasks.go.sdk.platform import MACHINE_ARCHES, RELEASED_GOARCH, RELEASED_GOOS
from gotasks.go.sdk.releases import VersionRequest
from gotasks.go.version import VersionError, VersionRule
from gotasks.settings import GO_ENV_KEYS

HTTP_URL = re.compile(r"https?://[^\s/]+\S*")  # a mirror, an index: a host at least
_GOOS = "|".join(RELEASED_GOOS)
_GOARCH = "|".join(RELEASED_GOARCH)
TAG_PATTERN = r"[A-Za-z0-9_.]+"  # what Go accepts in a build tag; nothing a shell would read
TARGET_PATTERN = r"[a-z0-9]+/[a-z0-9]+"


def _parses(parse: Callable[[str], object]) -> Check:
    """A check that the value parses (a Go version, a version rule); the parser's word if not."""

    def check(value: Any) -> str | None:
        try:
            parse(value)
        except VersionError as error:
            return str(error)
        return None

    return check


_version_rule = _parses(VersionRule.parse)


def _go_request(value: Any) -> str | None:
    """go.version takes what `inv sdk.install` takes: 1.22.5, go1.22.5, 1.22, latest."""
    try:
        VersionRequest.parse(value)
    except UsageError as error:
        return str(error)
    return None


def _sdk_source(value: Any) -> str | None:
    if value in ("index", "proxy") or HTTP_URL.fullmatch(value):
        return None
    return "must be index, proxy or an http(s):// URL of a release index"


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be above 0, got {value}"


def _limit_factor(value: Any) -> str | None:
    # A task's limit is factor x its estimate in bytes: past 1000x it is no limit at all.
    if 1 <= value <= 1000:
        return None
    return f"must be 1 to 1000 (a multiple of the estimate), got {value}"


def _timeout_seconds(value: Any) -> str | None:
    # The socket timeout of each read; the OS refuses values far beyond a day.
    return None if 0 < value <= 86400 else f"must be above 0 and at most 86400 (a day), got {value}"


def _golangci_mode(value: Any) -> Any:
    # `off` unquoted is YAML's false; take the booleans for what they plainly mean.
    return {False: "off", True: "required"}.get(value, value) if isinstance(value, bool) else value


# -X takes importpath.name; "" leaves that variable out.
_SYMBOL = matches(r"|[\w./~-]*\w\.\w+", "a Go symbol like main.version or example.com/m/v.Version")


def _no_flag(value: Any) -> str | None:
    return "is not a package pattern" if str(value).startswith("-") else None


def _input_glob(value: Any) -> str | None:
    text = str(value)
    if not text or text.startswith("/"):
        return "must be a glob relative to the project root, e.g. schema/**/*.json"
    return None


# <task>.inputs: more files a task's up-to-date key covers (besides its module's own)
_INPUTS = Value("list of strings", [], _input_glob)


_TAGS = Value("list of strings", [], matches(TAG_PATTERN, "a build tag (letters, digits, _ and .)"))
SPEC = Section(
    {
        "modules": Value("list of strings", [], nullable=True),
        # what a bare `inv` runs, as a Makefile's first target is what a bare `make` runs
        "default_task": Value("string", "ci", matches(r"[\w.-]+", "a task name like ci")),
        "go": Section(
            {
                "version": Value("string", None, _go_request, nullable=True),
                "env": Section(
                    {name: Value("string", None, nullable=True) for name in GO_ENV_KEYS}
                ),
                "tags": _TAGS,
                "tag_rules": Items(
                    Section({"when": Value("string", "", _version_rule), "tags": _TAGS}),
                    required=("when", "tags"),
                ),
            }
        ),
        "lint": Section(
            {
                "gofmt": Value("boolean", True),
                "vet": Value("boolean", True),
                "tidy": Value("boolean", True),
                "golangci_lint": Value(
                    "string",
                    "auto",
                    matches("auto|required|off", "one of auto, required, off"),
                    coerce=_golangci_mode,
                ),
                "golangci_lint_args": Value("list of strings", []),
                "inputs": _INPUTS,
            }
        ),
        "test": Section(
            {
                "packages": Value("list of strings", ["./..."], _no_flag),
                "timeout": Value(
                    "string", "10m", matches(r"(\d+(\.\d+)?(h|m|s|ms))+", "a duration")
                ),
                "race": Value("boolean", False),
                "cover": Value("boolean", False),
                "args": Value("list of strings", []),
                "inputs": _INPUTS,
            }
        ),
        "bench": Section(
            {
                "packages": Value("list of strings", ["./..."], _no_flag),
                "pattern": Value("string", "."),
                "count": Value("integer", 6, _positive),
                "benchtime": Value(
                    "string",
                    "1s",
                    matches(r"\d+x|(\d+(\.\d+)?(h|m|s|ms))+", "a benchtime like 1s or 100x"),
                ),
                "alpha": Value(
                    "number", 0.05, lambda v: None if 0 < v < 1 else "must be between 0 and 1"
                ),
                # percent slower that fails the run; null: report only
                "fail_on": Value("number", None, _positive, nullable=True),
            }
        ),
        "build": Section(
            {
                "targets": Value(
                    "list of strings", ["linux/amd64"], matches(TARGET_PATTERN, "GOOS/GOARCH")
                ),
                "cgo": Value("boolean", False),
                "packages": Value("list of strings", [], _no_flag),
                "ldflags": Value("list of strings", [], unquotable),
                # a -X target that is no string variable of a main package fails the build
                "strict_stamps": Value("boolean", False),
                "inputs": _INPUTS,
                "version_vars": Section(
                    {
                        "version": Value("string", "main.version", _SYMBOL),
                        "commit": Value("string", "main.commit", _SYMBOL),
                        "commit_date": Value("string", "main.commitDate", _SYMBOL),
                        "dirty": Value("string", "main.dirty", _SYMBOL),
                        "go_version": Value("string", "main.goVersion", _SYMBOL),
                    }
                ),
            }
        ),
        "sdk": Section(
            {
                "root": Value("string", None, nullable=True),
                "sources": Value("list of strings", ["index", "proxy"], _sdk_source),
                "mirror": Value(
                    "string", "https://go.dev/dl", matches(HTTP_URL.pattern, "an http(s):// URL")
                ),
                "os": Value(
                    "string", None, matches(_GOOS, "a GOOS Go is released for"), nullable=True
                ),
                "arch": Value(
                    "string",
                    None,
                    matches(_GOARCH, "a GOARCH Go is released for"),
                    nullable=True,
                    coerce=lambda v: MACHINE_ARCHES.get(v, v),  # x86_64 is amd64
                ),
                "timeout": Value("number", 30, _timeout_seconds),
            }
        ),
        "docker": Section(
            {
                "engine": Value(
                    "string",
                    "auto",
                    matches("auto|docker|podman|buildah", "one of auto, docker, podman, buildah"),
                ),
                "file": Value("string", "Dockerfile"),
                "image": Value("string", None, nullable=True),
                "variant": Value(
                    "string", "bookworm", matches("bookworm|alpine", "bookworm or alpine")
                ),
                "runtime": Value("string", "gcr.io/distroless/static-debian12:nonroot"),
                "platforms": Value("list of strings", [], matches(TARGET_PATTERN, "OS/ARCH")),
                "build_args": Value("mapping of names to strings", {}),
            }
        ),
        "scheduler": Section(
            {
                "jobs": Value(
                    "integer", 0, lambda v: None if v >= 0 else "must be 0 (no cap) or more"
                ),
                "cpus": Value("number or string", None, nullable=True),
                "memory": Value("number or string", None, nullable=True),
                "reserve": Value("number or string", None, nullable=True),
                "memory_limit_factor": Value("number", 3.0, _limit_factor),
                "keep_going": Value("boolean", False),
                "output": Value(
                    "string", "group", matches("group|prefixed", "one of group, prefixed")
                ),
                "summary": Value("string", "short", matches("short|full", "one of short, full")),
                "trace": Value("string", None, nullable=True),
                "report": Value("string", None, nullable=True),
                "cluster": Value("string", None, nullable=True),
                "pools": Value(
                    "mapping of names to integers",
                    {"lint": 2, "test": 1, "build": 2, "bench": 1},
                    _positive,
                ),
            }
        ),
    }
)
