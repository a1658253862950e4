"""A setup bundle (bundle.py) unpacked and checked, file by file, before anything of it is
used: the SDK archive's SHA-256 against the manifest, every module file against go.sum. The
unpacked goproxy/ folder is then a GOPROXY go reads as `file://...`, and its files can be
laid out in a module cache directly (`Unpacked.seed`)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gotasks.core.files import atomic_write_text
from gotasks.go.artifacts import sha256_file
from gotasks.go.bundle import (
    MANIFEST,
    PROXY_DIR,
    SDK_DIR,
    TOP,
    BundleError,
    Manifest,
)
from gotasks.go.gosum import SumLine, escape, proxy_dir, unescape
from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.gnutar import Digests
from gotasks.go.sdk.members import ArchiveError
from gotasks.go.sdk.store import remove_tree
from gotasks.go.sumcheck import SumCheck

# Bounds on what unpacking may write: far above a real project's (an SDK is ~75 MB, a big
# program's modules a few hundred MB), far below a disk filled by a hostile file.
MAX_UNPACKED = 16 << 30
MAX_MANIFEST = 1 << 20


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

    def seed(self, download: Path, lines: Iterable[SumLine]) -> int:
        """Lay this bundle's files for `lines` out in a module cache's download folder
        (GOMODCACHE/cache/download) as go leaves them: the .zip or .mod, the .info beside
        it, and a zip's .ziphash holding its go.sum hash (the one its content matched when
        unpacked). go then checks that hash against go.sum and extracts the zip, without
        copying it from the GOPROXY folder and hashing it a second time. Each file is
        linked (or copied) under a temporary name and renamed into place, a .ziphash after
        its zip: go never sees half of one, and a zip without one go hashes itself. Files
        the cache has are left as they are. How many module files were laid out."""
        laid = 0
        for line in sorted(set(lines)):
            source, target = self.proxy / line.file, download / line.file
            if not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _place(source, target)
            info = f"{proxy_dir(line.path)}/{escape(line.version)}.info"
            if (self.proxy / info).is_file() and not (download / info).exists():
                _place(self.proxy / info, download / info)
            if not line.go_mod:
                atomic_write_text(target.with_suffix(".ziphash"), line.hash)
            laid += 1
        return laid


def _place(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(source, tmp)
        except OSError:  # another file system: a copy
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def unpack(
    bundle: Path,
    dest: Path,
    lines: Iterable[SumLine],
    where: Callable[[SumLine], str],
    check_stop: Callable[[], None] | None = None,
    max_bytes: int = MAX_UNPACKED,
) -> Unpacked:
    """Unpack `bundle` into `dest` and check it whole (Unpacking, with nothing done while
    the module files are checked)."""
    with Unpacking(bundle, dest, lines, where, check_stop, max_bytes) as unpacking:
        return unpacking.commit()


class Unpacking:
    """`bundle` unpacked into `dest` (replacing what was there once the new one is checked)
    and checked: the SDK archive's SHA-256 against the manifest, every .zip and .mod
    against the go.sum `lines` (a file no line covers is left out: go could not verify it).

    Only regular files and folders under gotasks-bundle/ are written (no links, no absolute
    or `..` names, at most `max_bytes`), into a temporary folder beside `dest`: a refused or
    interrupted unpack leaves `dest` as it was. Entering unpacks and checks the SDK archive;
    the module files are then hashed in a process of their own (sumcheck.py) while the
    caller goes on (`pending`, the unpacked folder, is usable for the SDK meanwhile):
    `checked` waits for them, raising the first mismatch in file order, and `commit` puts
    the folder in place."""

    def __init__(
        self,
        bundle: Path,
        dest: Path,
        lines: Iterable[SumLine],
        where: Callable[[SumLine], str],
        check_stop: Callable[[], None] | None = None,
        max_bytes: int = MAX_UNPACKED,
    ) -> None:
        self.bundle, self.dest, self.lines, self.where = bundle, dest, list(lines), where
        self.check_stop, self.max_bytes = check_stop, max_bytes
        self._check: SumCheck | None = None
        self._tmp: Path | None = None
        self.pending: Unpacked | None = None

    def __enter__(self) -> Unpacking:
        if self.pending is None:
            self.start()
        return self

    def start(self) -> None:
        """Unpack and check the SDK archive; the module files' checks start (on failure,
        what was unpacked is removed)."""
        bundle = self.bundle
        if not bundle.is_file():
            raise BundleError(f"{bundle}: no such file")
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.unpack-", dir=self.dest.parent))
        self._tmp = tmp
        # The SDK archive is hashed as it is written, not read again for it.
        digests = Digests(lambda rel: rel.startswith(f"{SDK_DIR}/"))
        try:
            try:
                extract(
                    bundle,
                    tmp,
                    prefix=f"{TOP}/",
                    executable_dirs=(),
                    check_stop=self.check_stop,
                    max_bytes=self.max_bytes,
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
            checks = _proxy_checks(bundle, tmp / PROXY_DIR, self.lines, self.check_stop)
            self._check = SumCheck(
                tmp / PROXY_DIR,
                [(line, named, self.where(line)) for line, named in checks],
                str(bundle),
            )
        except BaseException:
            self._close(committed=False)
            raise
        self.pending = Unpacked(tmp, manifest, sdk_verified=manifest.sdk is not None)

    def checked(self) -> None:
        """Wait for the module files' checks: a BundleError names the first that failed."""
        if self._check is not None:
            self._check.wait(self.check_stop)
            self._check = None

    def commit(self) -> Unpacked:
        """The checked folder, in place at `dest`."""
        assert self.pending is not None and self._tmp is not None, "commit outside the block"
        self.checked()
        aside = self.dest.with_name(f".{self.dest.name}.old-{secrets.token_hex(4)}")
        if self.dest.exists():
            os.rename(self.dest, aside)
        os.rename(self._tmp, self.dest)
        self._tmp = None
        remove_tree(aside)
        return Unpacked(self.dest, self.pending.manifest, self.pending.sdk_verified)

    def __exit__(self, *exc: object) -> None:
        self._close(committed=self._tmp is None)

    def _close(self, *, committed: bool) -> None:
        if self._check is not None:
            self._check.close()
            self._check = None
        if not committed and self._tmp is not None:
            remove_tree(self._tmp)
            self._tmp = None


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


def _proxy_checks(
    bundle: Path,
    proxy: Path,
    lines: Iterable[SumLine],
    check_stop: Callable[[], None] | None,
) -> list[tuple[SumLine, str]]:
    """Every module file of the unpacked proxy folder with the go.sum lines that cover it
    (to be hashed); a .info is checked here, a file no line covers removed."""
    by_file: dict[str, list[SumLine]] = {}
    for line in lines:
        by_file.setdefault(line.file, []).append(line)
    if not proxy.is_dir():
        return []
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
    return checks


def _check_info(path: Path, named: str, version: str) -> None:
    """A .info is not in go.sum: it must at least be the JSON of the version it is named for."""
    try:
        data: Any = json.loads(path.read_bytes()[:65536])
        if not isinstance(data, dict) or data.get("Version") != version:
            raise ValueError(f"its Version is not {version}")
    except (OSError, ValueError) as error:
        raise BundleError(f"{named}: not a module .info file ({error})") from None
