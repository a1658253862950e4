"""The GOOS/GOARCH an SDK is installed for: detected from the machine, overridable."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

from gotasks.core.errors import UsageError

# What Python reports (and people type) -> what Go calls it.
MACHINE_ARCHES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "armv6l": "armv6l",
    "armv7l": "armv6l",  # go.dev publishes armv6l archives only; they run on armv7
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loong64",
}
# What go.dev publishes archives for (sdk.os, sdk.arch).
RELEASED_GOOS = (
    "aix", "darwin", "dragonfly", "freebsd", "illumos", "linux", "netbsd", "openbsd", "plan9",
    "solaris", "windows",
)  # fmt: skip
RELEASED_GOARCH = (
    "386", "amd64", "arm64", "armv6l", "loong64", "mips", "mipsle", "mips64", "mips64le",
    "ppc64", "ppc64le", "riscv64", "s390x",
)  # fmt: skip
_SYSTEMS = {"linux": "linux", "darwin": "darwin", "win32": "windows", "freebsd": "freebsd"}


@dataclass(frozen=True)
class Platform:
    goos: str
    goarch: str

    @property
    def archive_kind(self) -> str:
        return "zip" if self.goos == "windows" else "tar.gz"

    @property
    def exe(self) -> str:
        return ".exe" if self.goos == "windows" else ""

    def __str__(self) -> str:
        return f"{self.goos}/{self.goarch}"


def detect(goos: str | None = None, goarch: str | None = None) -> Platform:
    """This machine's GOOS/GOARCH, unless given (config sdk.os / sdk.arch)."""
    if goos is None:
        system = next((v for k, v in _SYSTEMS.items() if sys.platform.startswith(k)), None)
        if system is None:
            raise UsageError(f"sdk: no Go release for this system ({sys.platform}); set sdk.os")
        goos = system
    if goarch is None:
        machine = platform.machine().lower()
        if machine not in MACHINE_ARCHES:
            raise UsageError(f"sdk: no Go release for this machine ({machine}); set sdk.arch")
        goarch = MACHINE_ARCHES[machine]
    return Platform(goos, goarch)
