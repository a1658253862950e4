"""An SDK archive unpacked while it downloads: the extraction (archive.py, with every member
check) runs on a thread that follows the `.part` file as the download writes it
(follow.py), so that the download's time is no longer added to the extraction's. Nothing
unpacked counts before the whole download matched its SHA-256: it goes into the installer's
temporary folder, which a failure removes like any other (install.py).
"""

from __future__ import annotations

import threading
from pathlib import Path

from gotasks.core import cancel
from gotasks.core.errors import Stopped
from gotasks.go.sdk.archive import extract
from gotasks.go.sdk.follow import Following

# Far above an SDK's ~270 MB (an archive not yet verified may be a bomb).
MAX_UNPACKED = 8 << 30
# What can be unpacked front to back (a .zip's directory is at its end).
FOLLOWED = (".tar.gz", ".tgz")


class Beside:
    """extract(archive, dest) on a thread, reading `part` (the download of `archive`, named
    as it will be) as the download writes it: `wrote`
    for the download to call, `result` (the file count) once it matched, `abandon` when it
    did not or failed; the thread has ended when either returns."""

    def __init__(self, part: Path, archive: Path, dest: Path, prefix: str) -> None:
        stop_source = cancel.bound()

        def stopped() -> None:
            if stop_source is not None and stop_source.stop_reason is not None:
                raise Stopped(stop_source.stop_reason)

        self.follow = Following(part, stopped)
        self.files = 0
        self.error: BaseException | None = None

        def check() -> None:
            cancel.check_stop()
            if self.follow.abandoned is not None:
                raise self.follow.abandoned

        def run() -> None:
            cancel.bind(stop_source)
            try:
                self.files = extract(
                    archive,
                    dest,
                    prefix=prefix,
                    check_stop=check,
                    max_bytes=MAX_UNPACKED,
                    stream=self.follow,
                )
            except BaseException as error:  # handed to the installer's thread
                self.error = error
                self.follow.reader_error = error

        self.thread = threading.Thread(target=run, name="gotasks-sdk-extract", daemon=True)
        self.thread.start()

    def wrote(self, total: int) -> None:
        self.follow.wrote(total)

    def downloaded(self) -> None:
        """The download is whole (before `part` is renamed: the reader keeps its file)."""
        self.follow.finish()

    def result(self) -> int:
        """The download matched: wait for the extraction; its file count, or its error."""
        self.thread.join()
        self.follow.release()
        if self.error is not None:
            raise self.error
        return self.files

    def abandon(self, error: BaseException) -> None:
        """The download failed or did not match: stop the extraction and wait for it."""
        self.follow.fail(error)
        self.thread.join()
        self.follow.release()
