"""A setup bundle: one tar with what a machine needs to build a project with no network.

    gotasks-bundle/manifest.json      what is inside: the SDK's version, file and SHA-256
    gotasks-bundle/sdk/<archive>      the Go SDK archive, as go.dev (or the proxy) served it
    gotasks-bundle/goproxy/...        every dependency's .zip, .mod and .info in the Go module
                                      proxy's layout (what GOMODCACHE/cache/download holds)

Written from the module cache after checking each file against the project's go.sum lines,
and checked again, file by file, when unpacked: a file whose h1: hash differs from go.sum,
or an SDK archive whose SHA-256 differs from the manifest's, refuses the whole bundle. The
unpacked goproxy/ folder is then a GOPROXY go reads as `file://...`.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.go.artifacts import sha256_file
from gotasks.go.gosum import SumLine, escape, hash_of, proxy_dir, unescape
from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.gnutar import Digests
from gotasks.go.sdk.members import ArchiveError
from gotasks.go.sdk.store import remove_tree

FORMAT = 1
TOP = "gotasks-bundle"
MANIFEST = "manifest.json"
SDK_DIR = "sdk"
PROXY_DIR = "goproxy"
# Bounds on what unpacking may write: far above a real project's (an SDK is ~75 MB, a big
# program's modules a few hundred MB), far below a disk filled by a hostile file.
MAX_UNPACKED = 16 << 30
MAX_MANIFEST = 1 << 20
_HASHERS = min(4, max(2, os.cpu_count() or 2))


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
        _check(line, download, f"{file}", where(line))
        files.add(line.file)
        info = f"{proxy_dir(line.path)}/{escape(line.version)}.info"
        if (download / info).is_file():
            files.add(info)
        if not line.go_mod:
            modules.add(f"{line.path}@{line.version}")
    return Selected(sorted(files), sorted(modules), sorted(absent))


def _check(line: SumLine, folder: Path, named: str, where: str) -> None:
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


@dataclass(frozen=True)
class Unpacked:
    folder: Path  # holds manifest.json, sdk/, goproxy/
    manifest: Manifest
    # The SDK archive's SHA-256 was taken as it was unpacked and matched the manifest's.
    sdk_verified: bool = False

    @property
    def proxy(self) -> Path:
        return self.folder / PROXY_DIR

    @property
    def sdk_archive(self) -> Path | None:
        return self.folder / SDK_DIR / self.manifest.sdk.filename if self.manifest.sdk else None

    def goproxy(self) -> str:
        """GOPROXY for go: this folder, and nothing else (`off`: no network fallback)."""
        return f"{self.proxy.as_uri()},off"


def unpack(
    bundle: Path,
    dest: Path,
    lines: Iterable[SumLine],
    where: Callable[[SumLine], str],
    check_stop: Callable[[], None] | None = None,
    max_bytes: int = MAX_UNPACKED,
) -> Unpacked:
    """Unpack `bundle` into `dest` (replacing what was there once the new one is checked)
    and check it: the SDK archive's SHA-256 against the manifest, every .zip and .mod
    against the go.sum `lines` (a file no line covers is left out: go could not verify it).

    Only regular files and folders under gotasks-bundle/ are written (no links, no absolute
    or `..` names, at most `max_bytes`), into a temporary folder beside `dest`: a refused or
    interrupted unpack leaves `dest` as it was."""
    if not bundle.is_file():
        raise BundleError(f"{bundle}: no such file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.unpack-", dir=dest.parent))
    # The SDK archive is hashed as it is written, not read again for it.
    digests = Digests(lambda rel: rel.startswith(f"{SDK_DIR}/"))
    try:
        try:
            extract(
                bundle,
                tmp,
                prefix=f"{TOP}/",
                executable_dirs=(),
                check_stop=check_stop,
                max_bytes=max_bytes,
                digests=digests,
            )
        except ArchiveError as error:
            raise BundleError(f"{bundle}: refused: {error}") from None
        manifest_file = tmp / MANIFEST
        if not manifest_file.is_file() or manifest_file.stat().st_size > MAX_MANIFEST:
            raise BundleError(f"{bundle}: no {TOP}/{MANIFEST}: not a gotasks setup bundle")
        manifest = Manifest.parse(
            manifest_file.read_text(encoding="utf-8"), f"{bundle}: {MANIFEST}"
        )
        _check_sdk(bundle, tmp, manifest, digests.found)
        _check_proxy(bundle, tmp / PROXY_DIR, lines, where, check_stop)
        aside = dest.with_name(f".{dest.name}.old-{secrets.token_hex(4)}")
        if dest.exists():
            os.rename(dest, aside)
        os.rename(tmp, dest)
        remove_tree(aside)
    except BaseException:
        remove_tree(tmp)
        raise
    return Unpacked(dest, manifest, sdk_verified=manifest.sdk is not None)


def _check_sdk(bundle: Path, folder: Path, manifest: Manifest, found: dict[str, str]) -> None:
    sdk = manifest.sdk
    present = (
        sorted(p.name for p in (folder / SDK_DIR).glob("*")) if (folder / SDK_DIR).is_dir() else []
    )
    if sdk is None:
        if present:
            raise BundleError(f"{bundle}: {SDK_DIR}/{present[0]} is not in the manifest")
        return
    archive = folder / SDK_DIR / sdk.filename
    named = f"{bundle}: {SDK_DIR}/{sdk.filename}"
    if not archive.is_file():
        raise BundleError(f"{named}: missing (the manifest lists it)")
    extra = [name for name in present if name != sdk.filename]
    if extra:
        raise BundleError(f"{bundle}: {SDK_DIR}/{extra[0]} is not in the manifest")
    actual = found.get(f"{SDK_DIR}/{sdk.filename}") or sha256_file(archive)
    if actual != sdk.sha256 or archive.stat().st_size != sdk.size:
        raise BundleError(f"{named}: SHA-256 {actual} does not match the manifest's {sdk.sha256}")


def _check_proxy(
    bundle: Path,
    proxy: Path,
    lines: Iterable[SumLine],
    where: Callable[[SumLine], str],
    check_stop: Callable[[], None] | None,
) -> None:
    by_file: dict[str, list[SumLine]] = {}
    for line in lines:
        by_file.setdefault(line.file, []).append(line)
    if not proxy.is_dir():
        return
    checks: list[tuple[SumLine, str]] = []
    for path in sorted(proxy.rglob("*")):
        if check_stop is not None:
            check_stop()
        if not path.is_file():
            continue
        rel = path.relative_to(proxy).as_posix()
        named = f"{bundle}: {PROXY_DIR}/{rel}"
        if rel.endswith(".info"):
            _check_info(path, named, unescape(path.name.removesuffix(".info")))
            continue
        if not rel.endswith((".zip", ".mod")):
            raise BundleError(f"{named}: not a module proxy file (.zip, .mod, .info)")
        covering = by_file.get(rel)
        if not covering:
            # go would have to ask the checksum database, which needs the network: a
            # bundle made for another go.sum. Not served (removed), and said by the caller
            # when go then misses it.
            path.unlink()
            continue
        checks += [(line, named) for line in covering]
    # Hashed side by side: zlib and SHA-256 let go of the GIL, and a loaded machine gives
    # each thread its share. The first mismatch in file order is the one named.
    with ThreadPoolExecutor(max_workers=_HASHERS) as pool:
        futures = [pool.submit(_check, line, proxy, named, where(line)) for line, named in checks]
        try:
            for future in futures:
                if check_stop is not None:
                    check_stop()
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _check_info(path: Path, named: str, version: str) -> None:
    """A .info is not in go.sum: it must at least be the JSON of the version it is named for."""
    try:
        data: Any = json.loads(path.read_bytes()[:65536])
        if not isinstance(data, dict) or data.get("Version") != version:
            raise ValueError(f"its Version is not {version}")
    except (OSError, ValueError) as error:
        raise BundleError(f"{named}: not a module .info file ({error})") from None
