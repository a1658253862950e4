"""gotasks: what `inv` loads; the namespace is built from the modules in tasks/."""

from pathlib import Path

# tasks.py and the tasks/ folder share the name `tasks`; make this module the package
# root so that `inv`, pytest and an installed copy all import the same `tasks.*`.
__path__ = [str(Path(__file__).with_suffix(""))]

from tasks.namespace import build_namespace

ns = build_namespace()
