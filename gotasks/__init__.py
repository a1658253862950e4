"""gotasks: the task runner that replaces a Go project's Makefile (an invoke project).

A repository adopts it with a tasks.py of a few lines (what `inv init` writes):

    import gotasks
    ns = gotasks.namespace()

Importing this package loads nothing else: the engine, the Go domain and the tasks come
with namespace(), so that importing one part of gotasks does not pay for the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke.collection import Collection

# The release; the repository a project was set up with records it (see `inv doctor`).
__version__ = "0.2.0"


def namespace() -> Collection:
    """Every gotasks task in one invoke collection, for a project's tasks.py.

    In `inv` itself it first takes over the stop signals: a Ctrl-C, SIGTERM or SIGHUP while
    gotasks loads ends the run with 130 and nothing else (see engine/stops.py). A program
    that only imports gotasks (pytest) keeps its own signals and environment."""
    import sys

    from gotasks.core import reaper
    from gotasks.engine import stops

    if stops.loaded_by_inv():
        stops.install()
        stops.stop_with_parent()
        reaper.mark_run()
        # invoke turns bytecode writing off for the whole process (its --write-pyc, for
        # tasks.py's sake), so a gotasks that pip did not byte-compile (an editable or source
        # checkout) was compiled from source by every `inv`: ~100 modules, most of its
        # start-up. gotasks' modules are a package like any other: written to __pycache__
        # once, read from there after. -B and PYTHONDONTWRITEBYTECODE still say no.
        sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)
    from gotasks.namespace import build_namespace

    return build_namespace()
