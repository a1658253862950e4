"""A setup bundle: one tar with what a machine needs to build a project with no network.

    gotasks-bundle/manifest.json      what is inside: the SDK's version, file and SHA-256
    gotasks-bundle/sdk/<archive>      the Go SDK archive, as go.dev (or the proxy) served it
    gotasks-bundle/goproxy/...        every dependency's .zip, .mod and .info in the Go module
                                      proxy's layout (what GOMODCACHE/cache/download holds)

Written from the module cache after checking each file against the project's go.sum lines,
and checked again, file by file, when unpacked (bundleunpack.py): a file whose h1: hash
differs from go.sum, or an SDK archive whose SHA-256 differs from the manifest's, refuses
the whole bundle.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from gotasks.core.errors import UsageError
from gotasks.go.gosum import SumLine, escape, hash_of, proxy_dir

FORMAT = 1
TOP = "gotasks-bundle"
MANIFEST = "manifest.json"
SDK_DIR = "sdk"
PROXY_DIR = "goproxy"


class BundleError(UsageError):
    """A bundle that is unreadable, unsafe or does not match go.sum or its SDK checksum:
    refused as a whole, naming the file (exit 2)."""


@dataclass(frozen=True)
class BundledSdk:
    version: str  # go1.26.8
    os: str
    arch: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    sdk: BundledSdk | None
    modules: list[str]  # path@version of every module zip, for the record

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "sdk": asdict(self.sdk) if self.sdk else None,
            "modules": self.modules,
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def parse(cls, text: str, where: str) -> Manifest:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            sdk = data.get("sdk")
            bundled = BundledSdk(**sdk) if sdk is not None else None
            if bundled is not None and (
                "/" in bundled.filename or bundled.filename in ("", ".", "..")
            ):
                raise ValueError(f"sdk.filename {bundled.filename!r} is not a plain file name")
            modules = [str(m) for m in data.get("modules") or []]
        except (ValueError, TypeError, AttributeError) as error:
            raise BundleError(f"{where}: not a gotasks setup bundle manifest ({error})") from None
        return cls(bundled, modules)


@dataclass(frozen=True)
class Selected:
    """The proxy files a bundle carries (relative to the proxy folder), and what go.sum
    lists that the cache does not hold (go never downloaded it, so no build needs it)."""

    files: list[str]
    modules: list[str]
    absent: list[str]


def select_files(
    lines: Iterable[SumLine], download: Path, where: Callable[[SumLine], str]
) -> Selected:
    """What to bundle from a module cache's `download` folder (GOMODCACHE/cache/download):
    for each go.sum line its .zip or .mod, checked against the line's hash, and the .info
    beside it when there is one. A file that does not match go.sum is a BundleError naming
    it and the go.sum line (`where(line)`): the cache is damaged, or go.sum is."""
    files: set[str] = set()
    modules: set[str] = set()
    absent: set[str] = set()
    for line in sorted(set(lines)):
        file = download / line.file
        if not file.is_file():
            absent.add(line.file)
            continue
        check_file(line, download, f"{file}", where(line))
        files.add(line.file)
        info = f"{proxy_dir(line.path)}/{escape(line.version)}.info"
        if (download / info).is_file():
            files.add(info)
        if not line.go_mod:
            modules.add(f"{line.path}@{line.version}")
    return Selected(sorted(files), sorted(modules), sorted(absent))


def check_file(line: SumLine, folder: Path, named: str, where: str) -> None:
    """`folder`/`line.file` against its go.sum `line`: a BundleError naming it (`named`) and
    the go.sum line (`where`) when it differs."""
    try:
        actual = hash_of(line, folder)
    except (OSError, ValueError) as error:
        raise BundleError(f"{named}: cannot be checked against {where}: {error}") from None
    if actual != line.hash:
        raise BundleError(f"{named}: {actual} does not match {where} ({line.hash})")


def write_bundle(
    out: Path,
    manifest: Manifest,
    sdk_archive: Path | None,
    download: Path,
    files: list[str],
    check_stop: Callable[[], None] | None = None,
) -> int:
    """Write the bundle to `out` whole or not at all (a temporary file beside it, renamed
    into place); its size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            data = manifest.to_json().encode()
            info = tarfile.TarInfo(f"{TOP}/{MANIFEST}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, _BytesReader(data))
            if sdk_archive is not None and manifest.sdk is not None:
                _add(tar, sdk_archive, f"{TOP}/{SDK_DIR}/{manifest.sdk.filename}")
            for rel in files:
                if check_stop is not None:
                    check_stop()
                _add(tar, download / rel, f"{TOP}/{PROXY_DIR}/{rel}")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mode = 0o644
    with path.open("rb") as handle:
        tar.addfile(info, handle)


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.pos + size
        chunk, self.pos = self.data[self.pos : end], min(end, len(self.data))
        return chunk
