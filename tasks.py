"""gotasks: what `inv` loads; the namespace is built from the modules in tasks/."""

from pathlib import Path

# tasks.py and the tasks/ folder share the name `tasks`; make this module the package
# root so that `inv`, pytest and an installed copy all import the same `tasks.*`.
__path__ = [str(Path(__file__).with_suffix(""))]

from tasks.engine import reaper, stops

# First, before the namespace's imports: a Ctrl-C, SIGTERM or SIGHUP while gotasks loads
# ends `inv` with 130 and nothing else (see tasks/engine/stops.py). Only in `inv` itself:
# a program that imports gotasks (pytest) keeps its own signals and environment.
if stops.loaded_by_inv():
    stops.install()
    reaper.mark_run()

from tasks.namespace import build_namespace

ns = build_namespace()
