"""The pre-commit framework's hook for a repository that adopts gotasks.

`language: python`: pre-commit builds the hook a virtualenv of its own and pip-installs
gotasks into it (additional_dependencies, the requirement of the gotasks that wrote the
config), then runs the `gotasks` command from there. So the hook needs no virtualenv on
PATH (a GUI git client, a shell that never activated one) and no `inv` anywhere; only
pre-commit itself. A `repo: local` hook is pre-commit's documented way to use a tool that is
not a hooks repository of its own; this repository's .pre-commit-hooks.yaml (HOOKS_FILE)
offers the same hook in the `repo: <gotasks' URL>` form.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePosixPath

HOOK_ID = "gotasks-lint"
CONFIG_FILE = ".pre-commit-config.yaml"
HOOKS_FILE = ".pre-commit-hooks.yaml"
# The files whose staging can change `inv lint --staged`'s verdict: Go files, and go.mod,
# go.sum, go.work, go.work.sum (the tidiness check, the workspace's modules).
FILES = r"(\.go|(^|/)go\.(mod|sum|work|work\.sum))$"


def entry(project: str = ".") -> str:
    """The hook's command. pre-commit runs hooks from the repository's top level; a gotasks
    project in a subfolder (`project`, relative and /-separated) is found there with
    invoke's --search-root."""
    if project in ("", "."):
        return "gotasks lint --staged"
    return f"gotasks --search-root {shlex.quote(project)} lint --staged"


def files_pattern(project: str = ".") -> str:
    """FILES, restricted to the project's folder when it is a subfolder."""
    if project in ("", "."):
        return FILES
    folder = re.escape(PurePosixPath(project).as_posix())
    return rf"^{folder}/(.*\.go|(.*/)?go\.(mod|sum|work|work\.sum))$"


def config_text(requirement: str, project: str = ".") -> str:
    """The .pre-commit-config.yaml `inv init` writes: one local hook whose environment has
    gotasks from `requirement` (installsource.requirement() of the gotasks writing it)."""
    # JSON strings are YAML strings: any path or URL is quoted right.
    return f"""\
# pre-commit (https://pre-commit.com): `pre-commit install` once; from then on every commit
# that stages Go files (or go.mod, go.sum, go.work) runs `gotasks lint --staged` on them:
# gofmt on the staged content, go vet on their packages, the tidiness check when go.mod or
# go.sum is staged. pre-commit builds the hook's environment itself and installs gotasks
# there (additional_dependencies: change it to install gotasks from elsewhere, e.g.
# "gotasks @ git+https://host/gotasks.git@v1.2.3"), so no virtualenv is needed on PATH.
# It checks what is staged: `pre-commit run --all-files` checks nothing; CI runs `inv lint`.
repos:
  - repo: local
    hooks:
      - id: {HOOK_ID}
        name: gotasks lint --staged
        entry: {json.dumps(entry(project))}
        language: python
        additional_dependencies: [{json.dumps(requirement)}]
        pass_filenames: false
        files: {json.dumps(files_pattern(project))}
        require_serial: true
"""


def hooks_text() -> str:
    """The .pre-commit-hooks.yaml at gotasks' own root: what a `repo: <gotasks' URL>` entry
    with `rev:` and `hooks: [{id: gotasks-lint}]` runs (pre-commit installs the repository
    itself, at that rev, into the hook's environment)."""
    return f"""\
# Offered to other repositories' .pre-commit-config.yaml:
#   - repo: <URL of gotasks>
#     rev: <tag or commit>
#     hooks: [{{id: {HOOK_ID}}}]
# pre-commit pip-installs gotasks at that rev into the hook's environment.
- id: {HOOK_ID}
  name: gotasks lint --staged
  description: gofmt and go vet on the staged Go files, refusing the commit on a problem
  entry: gotasks lint --staged
  language: python
  pass_filenames: false
  files: {json.dumps(FILES)}
  require_serial: true
"""
