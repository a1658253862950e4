"""Installing one Go SDK: resolve, download, verify, extract, smoke-test, activate; any
failure undoes every step in reverse, so the install root is exactly as it was."""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from gotasks.core.cancel import check_stop
from gotasks.core.console import safe_write
from gotasks.core.errors import TaskFailed, UsageError, describe
from gotasks.core.files import atomic_write_text
from gotasks.core.scrub import scrub_json
from gotasks.core.undo import Undo
from gotasks.core.units import format_size
from gotasks.go.artifacts import sha256_file
from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.fetch import SourceError
from gotasks.go.sdk.installlog import InstallLog
from gotasks.go.sdk.members import ArchiveError
from gotasks.go.sdk.platform import Platform
from gotasks.go.sdk.progress import ProgressBar
from gotasks.go.sdk.releases import VersionRequest, go_name, nearest
from gotasks.go.sdk.sources import Candidate, IndexSource, Source
from gotasks.go.sdk.store import (
    Installed,
    SdkStore,
    remove_tree,
    write_marker,
)
from gotasks.go.sdk.streamed import FOLLOWED, Beside
from gotasks.go.toolchain import reported_version
from gotasks.go.version import GoVersion


class Installer:
    def __init__(
        self,
        store: SdkStore,
        sources: list[Source],
        platform: Platform,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        log_path: Path | None = None,
        before_activate: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.sources, self.platform = store, sources, platform
        # Called once the SDK is unpacked and smoke-tested, before it is put in place: what
        # must also hold for the install to count (a setup bundle's module checks, run
        # meanwhile); raising there takes the install back like any other failure.
        self.before_activate = before_activate
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.log_path = log_path
        self.log = InstallLog(None, "")
        self.failed_stage = ""  # the stage the last failure came from
        self._aside: list[Path] = []  # cache files moved aside by this attempt

    # -- reporting ---------------------------------------------------------------------

    def say(self, line: str) -> None:
        safe_write(self.out, line + "\n")
        self.log.add(line.strip())

    @contextmanager
    def stage(self, name: str, detail: Callable[[], str] | str = "") -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        except BaseException as error:
            self.failed_stage = name
            ms = (time.monotonic() - t0) * 1000
            self.log.add(f"{name:<10} FAILED after {ms:.0f} ms: {error or type(error).__name__}")
            raise
        ms = (time.monotonic() - t0) * 1000
        text = detail() if callable(detail) else detail
        self.say(f"  {name:<10} {ms:>7.0f} ms  {text}".rstrip())

    # -- the install -------------------------------------------------------------------

    def install(self, request: VersionRequest, *, force: bool = False) -> Installed:
        self.log = InstallLog(self.log_path, f"install {request} for {self.platform}")
        self.log.add(f"root: {self.store.root}")
        try:
            return self._install(request, force)
        except BaseException as error:
            self.log.add(f"error: {error or type(error).__name__}")
            raise
        finally:
            self.log.save()

    def _install(self, request: VersionRequest, force: bool) -> Installed:
        chosen: list[str] = []
        with self.stage("resolve", lambda: chosen[0]):
            version, first = self.resolve(request)
            where = first[1].source if first else "installed or cached, no network"
            chosen.append(f"{go_name(version)} ({where})")
        existing = self.store.get(version)
        if existing is not None and not force and not self.store.leftovers_of(version):
            # A finished install is read without the lock (its marker is written last), so
            # a shared read-only root still answers.
            self.say(f"{go_name(version)} is already installed: {existing.path}")
            return existing
        lock = self.store.lock_path(version)
        try:
            with self.store.lock(version, lambda: self.say(f"  waiting    for {lock}")):
                return self._install_locked(version, first, force)
        except OSError as error:
            # The root itself (read-only, a file, full): before any attempt began.
            raise TaskFailed(
                f"sdk.install {go_name(version)}: cannot write the SDK root {self.store.root}:"
                f" {describe(error)}"
            ) from None

    def _install_locked(
        self, version: GoVersion, first: tuple[Source, Candidate] | None, force: bool
    ) -> Installed:
        self.store.clear_leftovers(version)
        existing = self.store.get(version)
        if existing is not None and not force:
            self.say(f"{go_name(version)} is already installed: {existing.path}")
            return existing
        errors: list[str] = []
        for source, candidate in self._attempts(version, first):
            try:
                return self._attempt(source, candidate)
            except (SourceError, ArchiveError) as error:
                errors.append(str(error))
                self.say(f"  failed     {error}")
            except OSError as error:
                # Our own writes failed (a full disk, say): no other source would fare
                # better. One line that says which install and where, all rolled back.
                stage = self.failed_stage or "install"
                raise TaskFailed(
                    f"sdk.install {go_name(version)}: {stage} failed in {self.store.root}:"
                    f" {describe(error)}; rolled back"
                ) from None
        if not errors:
            errors.append("no source has it")
        raise TaskFailed(f"sdk.install {go_name(version)}: " + "; ".join(errors))

    def _attempts(
        self, version: GoVersion, first: tuple[Source, Candidate] | None
    ) -> Iterator[tuple[Source | None, Candidate]]:
        """The verified archive in the cache, then the source that resolved the version, then
        (asked only if it comes to that) each later source that has it."""
        cached = self._cached(version)
        if cached is not None:
            yield None, cached
        rest = self.sources
        if first is not None:
            yield first
            rest = self.sources[self.sources.index(first[0]) + 1 :]
        for source in rest:
            try:
                candidate = source.candidate(version)
            except SourceError as error:
                self.say(f"  skipped    {error}")
                continue
            if candidate is not None:
                yield source, candidate

    def resolve(self, request: VersionRequest) -> tuple[GoVersion, tuple[Source, Candidate] | None]:
        """The exact version asked for and the first source that has it. An exact version
        already installed or cached needs no network at all."""
        if request.exact is not None and (
            self.store.get(request.exact) is not None or self._cached(request.exact)
        ):
            return request.exact, None
        unreachable: list[str] = []
        offered: list[GoVersion] = []
        for source in self.sources:
            check_stop()
            try:
                if request.exact is not None:
                    # Asked of the source itself: the module proxy's list leaves out some
                    # releases it serves, so a list only feeds the suggestion.
                    version: GoVersion | None = request.exact
                    candidate = source.candidate(request.exact)
                    if candidate is None:
                        offered += [v for v, _ in source.versions()]
                else:
                    versions = source.versions()
                    offered += [v for v, _ in versions]
                    version = request.pick(versions)
                    candidate = source.candidate(version) if version is not None else None
            except SourceError as error:
                unreachable.append(str(error))
                self.say(f"  skipped    {error}")
                continue
            if version is not None and candidate is not None:
                return version, (source, candidate)
        if offered:
            suggestion = nearest(request, offered)
            hint = f"; nearest: {go_name(suggestion)}" if suggestion else ""
            raise UsageError(f"no Go release {request} for {self.platform}{hint}")
        raise TaskFailed(f"sdk.install {request}: no source answered: " + "; ".join(unreachable))

    # -- the cache ---------------------------------------------------------------------

    def _sidecar(self, filename: str) -> Path:
        return self.store.cache / f"{filename}.json"

    def _cached(self, version: GoVersion) -> Candidate | None:
        """A verified archive of `version` for this platform kept by an earlier install."""
        try:
            entries = sorted(self.store.cache.glob("*.json"))
        except OSError:
            return None
        for sidecar in entries:
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
                if (data["version"], data["os"], data["arch"]) != (
                    go_name(version),
                    self.platform.goos,
                    self.platform.goarch,
                ):
                    continue
                filename = data["filename"]
                if (self.store.cache / filename).is_file() and "/" not in filename:
                    return Candidate(
                        version, filename, data["sha256"], data["size"], data["prefix"], "cache"
                    )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    # -- one attempt: every step undone on failure ------------------------------------

    def _attempt(self, source: Source | None, candidate: Candidate) -> Installed:
        undo = Undo()
        self.failed_stage = ""
        self._aside = []
        try:
            installed = self._steps(source, candidate, undo)
        except BaseException:
            for what, error in undo.rollback():
                failed = f": FAILED ({error})" if error is not None else ""
                self.log.add(f"rollback: {what}{failed}")
            raise
        return installed

    def _steps(self, source: Source | None, candidate: Candidate, undo: Undo) -> Installed:
        version = candidate.version
        cache = self.store.cache
        archive = cache / candidate.filename
        if source is None:
            with self.stage("verify", f"cached {archive.name}"):
                actual = sha256_file(archive)
                if actual != candidate.sha256:
                    archive.unlink(missing_ok=True)
                    self._sidecar(candidate.filename).unlink(missing_ok=True)
                    raise SourceError(f"cached {archive.name}: SHA-256 changed; removed it")
        else:
            cache.mkdir(parents=True, exist_ok=True)
            part = cache / f"{candidate.filename}.part"
            undo.push(f"removed {part}", lambda: part.unlink(missing_ok=True))
            # An index's .tar.gz is unpacked as it downloads (streamed.py), into `tmp`: put
            # in place only once the whole download matched its SHA-256.
            beside: Beside | None = None
            if isinstance(source, IndexSource) and candidate.filename.endswith(FOLLOWED):
                tmp = self._temp_folder(version, undo)
                beside = Beside(part, archive, tmp, candidate.prefix)
            bar = ProgressBar(self.err, f"download {candidate.filename}")
            try:
                with self.stage("download", lambda: f"{_size(part)} from {candidate.source}"):
                    if beside is not None and isinstance(source, IndexSource):
                        sha256 = source.fetch(candidate, part, bar, beside.wrote)
                        beside.downloaded()
                    else:
                        sha256 = source.fetch(candidate, part, bar)
                with self.stage("verify", lambda: f"sha256 {sha256[:16]}…"):
                    if candidate.size is not None and part.stat().st_size != candidate.size:
                        raise SourceError(f"{candidate.filename}: size differs from the index")
                    if candidate.sha256 is not None and sha256 != candidate.sha256:
                        raise SourceError(f"{candidate.filename}: SHA-256 mismatch")
            except BaseException as error:
                if beside is not None:
                    beside.abandon(error)
                raise
            finally:
                bar.close()
            details = {
                "filename": candidate.filename,
                "version": go_name(version),
                "os": self.platform.goos,
                "arch": self.platform.goarch,
                "sha256": sha256,
                "size": part.stat().st_size,
                "prefix": candidate.prefix,
                "source": candidate.source,
            }
            sidecar = self._sidecar(candidate.filename)
            # Whatever the cache held under these names (an archive without a valid sidecar)
            # is put back if this install fails.
            try:
                for kept in (archive, sidecar):
                    self._set_aside(kept, undo)
                os.replace(part, archive)
                undo.push(f"removed {archive}", lambda: archive.unlink(missing_ok=True))
                atomic_write_text(sidecar, json.dumps(scrub_json(details), indent=2) + "\n")
                undo.push(f"removed {sidecar}", lambda: sidecar.unlink(missing_ok=True))
            except BaseException as error:
                if beside is not None:
                    beside.abandon(error)
                raise
            candidate = Candidate(
                version, candidate.filename, sha256, None, candidate.prefix, candidate.source
            )
            if beside is not None:
                count = 0
                with self.stage("extract", lambda: f"{count} files (unpacked as it downloaded)"):
                    count = beside.result()
        target = self.store.path(version)
        if source is None or beside is None:
            tmp = self._temp_folder(version, undo)
            count = 0
            with self.stage("extract", lambda: f"{count} files"):
                count = extract(archive, tmp, prefix=candidate.prefix, check_stop=check_stop)
        with self.stage("smoke-test", lambda: smoke):
            smoke = self._smoke_test(tmp, version)
        write_marker(
            tmp,
            {
                "version": go_name(version),
                "os": self.platform.goos,
                "arch": self.platform.goarch,
                "sha256": candidate.sha256,
                "archive": candidate.filename,
                "source": candidate.source,
                "installed": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        if self.before_activate is not None:
            with self.stage("wait", "for the checks that go with this install"):
                self.before_activate()
        with self.stage("activate", lambda: str(target)):
            check_stop()
            old = None
            if target.exists() or target.is_symlink():
                old = self.store.root / f"{self.store.aside_prefix(version)}{secrets.token_hex(4)}"
                os.rename(target, old)
                moved_aside = old
                undo.push(f"restored {target}", lambda: os.rename(moved_aside, target))
            os.rename(tmp, target)
            undo.push(f"moved {target} back out", lambda: os.rename(target, tmp))
        undo.keep()  # from here on nothing is taken back
        try:
            for aside in self._aside:
                aside.unlink(missing_ok=True)
            if old is not None:
                remove_tree(old)
        except OSError as error:
            # The new SDK is in place; what is left has a leftover's name.
            self.say(f"  warning    could not tidy up: {describe(error)}; the next install does")
        installed = self.store.get(version)
        assert installed is not None
        return installed

    def _temp_folder(self, version: GoVersion, undo: Undo) -> Path:
        """The folder the SDK is unpacked into, removed if the install fails."""
        tmp = Path(tempfile.mkdtemp(prefix=self.store.temp_prefix(version), dir=self.store.root))
        undo.push(f"removed {tmp}", lambda: remove_tree(tmp))
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would lock other users out of a shared root
        return tmp

    def _set_aside(self, path: Path, undo: Undo) -> None:
        if not path.exists():
            return
        aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}.prev")
        os.rename(path, aside)
        self._aside.append(aside)
        undo.push(f"restored {path}", lambda: os.replace(aside, path))

    def _smoke_test(self, root: Path, version: GoVersion) -> str:
        go = root / "bin" / f"go{self.platform.exe}"
        if self.store.suffix:  # another platform's SDK (sdk.os, sdk.arch)
            return f"skipped: a {self.platform} go cannot run on this machine"
        reported, said = reported_version(go, root)
        if reported != go_name(version):
            raise ArchiveError(f"bin/go version: expected {go_name(version)}, got {said!r}")
        return said


def _size(path: Path) -> str:
    try:
        return format_size(path.stat().st_size)
    except OSError:
        return ""
