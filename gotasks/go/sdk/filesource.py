"""An SDK source that is one archive file on disk with its known SHA-256 (a setup bundle's):
installed through the same download-verify-extract-activate path as any other source."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gotasks.go.sdk.fetch import Progress, SourceError
from gotasks.go.sdk.sources import Candidate
from gotasks.go.version import GoVersion

_CHUNK = 1 << 20


class FileSource:
    def __init__(
        self,
        archive: Path,
        version: GoVersion,
        sha256: str,
        size: int,
        name: str,
        *,
        verified: bool = False,
    ) -> None:
        self.archive, self.version, self.sha256, self.size = archive, version, sha256, size
        self.name = name
        # The archive's SHA-256 was taken as it was written (a bundle's, as it was
        # unpacked) and matched `sha256`: a hard link to it is those very bytes.
        self.verified = verified

    def versions(self) -> list[tuple[GoVersion, bool]]:
        return [(self.version, self.version.stage == 4)]

    def candidate(self, version: GoVersion) -> Candidate | None:
        if version != self.version:
            return None
        return Candidate(version, self.archive.name, self.sha256, self.size, "go/", self.name)

    def fetch(self, candidate: Candidate, part: Path, progress: Progress | None) -> str:
        """Copied to `part`, hashed as it goes; a copy that differs is a SourceError. A
        verified archive is hard-linked instead, where it can be (the same file system):
        neither copied nor read again."""
        if self.verified:
            try:
                os.link(self.archive, part)
            except OSError:
                pass
            else:
                if progress is not None:
                    progress(self.size, self.size)
                return self.sha256
        digest = hashlib.sha256()
        done = 0
        try:
            with self.archive.open("rb") as source, part.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, self.size)
        except FileNotFoundError:
            raise SourceError(f"{self.name}: {self.archive} is gone") from None
        sha256 = digest.hexdigest()
        if sha256 != self.sha256:
            raise SourceError(f"{self.name}: {self.archive.name}: SHA-256 mismatch")
        return sha256
