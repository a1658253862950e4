"""The plain git pre-commit hook `inv hooks.install` writes: its text and the line that
says gotasks wrote it (read by hooks and by setup's hook stage)."""

from __future__ import annotations

import shlex
from pathlib import Path

MARKER = "# installed by gotasks: inv hooks.install"


def hook_script(top: Path, project: str, python: str) -> str:
    """The hook: `top` is the work tree's top level it is installed for, `project` the
    gotasks root relative to it, `python` the interpreter that has invoke and gotasks."""
    where = '"$top"' if project == "." else f'"$top"/{shlex.quote(project)}'
    return f"""#!/bin/sh
{MARKER}
# Lints the staged Go files (gofmt on their staged content, go vet on their packages) and
# refuses the commit on a problem. Skip it once: git commit --no-verify.
# Written by `inv hooks.install`, removed by `inv hooks.uninstall`: do not edit here.
top=$(git rev-parse --show-toplevel) || exit 2
# Other repositories may share this hook's folder (a machine-wide core.hooksPath): it
# checks only its own. That is the top level it was installed in, or one with the gotasks
# project at the same place (the clone moved, a linked worktree); the recorded path alone
# would miss those, the project alone a repository whose tasks.py went: it says so below.
installed={shlex.quote(str(top))}
if [ "$top" != "$installed" ] && [ ! -f {where}/tasks.py ]; then
    exit 0
fi
# git runs hooks from the top level and may name the index relative to it.
case "${{GIT_INDEX_FILE:-}}" in
    "" | /*) ;;
    *) GIT_INDEX_FILE="$top/$GIT_INDEX_FILE"; export GIT_INDEX_FILE ;;
esac
cd {where} || {{ echo "gotasks pre-commit hook: run inv hooks.install again" >&2; exit 2; }}
# An absolute python: GUI git clients run hooks without the venv on PATH. `-m gotasks`,
# not `-m invoke`: gotasks' command has the stop signals from its first line.
python={shlex.quote(python)}
if [ -x "$python" ]; then
    exec "$python" -m gotasks lint --staged
fi
if command -v gotasks >/dev/null 2>&1; then
    exec gotasks lint --staged
fi
if command -v inv >/dev/null 2>&1; then
    exec inv lint --staged
fi
echo "gotasks pre-commit hook: neither $python nor gotasks on PATH; run inv hooks.install" \\
    "again (git commit --no-verify skips this hook)" >&2
exit 1
"""
