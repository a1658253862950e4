"""Go version strings parsed and ordered as Go orders them, and version rules (">= 1.23")."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import total_ordering

from gotasks.core.errors import UsageError

_VERSION = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")
_STAGES = {"alpha": 1, "beta": 2, "rc": 3}
_LANGUAGE, _RELEASE = 0, 4


class VersionError(UsageError, ValueError):
    """Not a Go version (or rule) gotasks can read: the user's input, so exit 2."""


@total_ordering
@dataclass(frozen=True)
class GoVersion:
    """A Go toolchain or language version.

    Go orders 1.21 (the language version) < 1.21rc1 < 1.21.0 < 1.21.1. Before 1.21 the
    first release had no ".0" (go1.20), so there "1.20" is the release itself.
    """

    major: int
    minor: int
    patch: int
    stage: int  # 0 language version, 1 alpha, 2 beta, 3 rc, 4 release
    pre: int

    @classmethod
    def parse(cls, text: str) -> GoVersion:
        match = _VERSION.match(text.strip())
        if not match:
            raise VersionError(f"not a Go version: {text!r} (expected e.g. 1.22.5 or go1.21rc1)")
        major, minor = int(match.group(1)), int(match.group(2))
        patch_text, stage_name, pre = match.group(3), match.group(4), match.group(5)
        if stage_name:
            if patch_text is not None:
                raise VersionError(f"not a Go version: {text!r} (a prerelease has no patch)")
            return cls(major, minor, 0, _STAGES[stage_name], int(pre))
        if patch_text is not None:
            return cls(major, minor, int(patch_text), _RELEASE, 0)
        old_style = (major, minor) < (1, 21)
        return cls(major, minor, 0, _RELEASE if old_style else _LANGUAGE, 0)

    def _key(self) -> tuple[int, int, int, int, int]:
        return (self.major, self.minor, self.stage, self.pre, self.patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, GoVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        if self.stage == _LANGUAGE:
            return base
        if self.stage == _RELEASE:
            old_first = (self.major, self.minor) < (1, 21) and self.patch == 0
            return base if old_first else f"{base}.{self.patch}"
        stage = {v: k for k, v in _STAGES.items()}[self.stage]
        return f"{base}{stage}{self.pre}"


_OPERATORS: dict[str, Callable[[GoVersion, GoVersion], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_RULE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class VersionRule:
    """A comparison such as ">= 1.23"; several joined by "," must all hold."""

    text: str
    clauses: tuple[tuple[str, GoVersion], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRule:
        clauses = []
        for part in text.split(","):
            match = _RULE.match(part)
            if not match:
                raise VersionError(
                    f"not a version rule: {text!r} (expected e.g. '>= 1.23' or '>= 1.21, < 1.24')"
                )
            clauses.append((match.group(1), GoVersion.parse(match.group(2))))
        return cls(text, tuple(clauses))

    def matches(self, version: GoVersion) -> bool:
        return all(_OPERATORS[op](version, bound) for op, bound in self.clauses)
