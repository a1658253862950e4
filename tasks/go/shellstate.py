"""What `eval "$(inv env)"` left in a shell, so that the next `inv env` can undo it.

`inv env` exports the Go variables and records, in GOTASKS_SHELL, what it exported and
what the user had before. A later run reads the user's own values back from there:
switching from prod to dev must not keep prod's GOFLAGS or tags as if the user set them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

STATE_VARIABLE = "GOTASKS_SHELL"


def _state(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str | None]]:
    try:
        state = json.loads(environ.get(STATE_VARIABLE, "") or "{}")
        exported, saved = state.get("exported", {}), state.get("saved", {})
    except (ValueError, AttributeError):
        return {}, {}
    if not isinstance(exported, dict) or not isinstance(saved, dict):
        return {}, {}
    return exported, saved


def user_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every variable an earlier `inv env` set (and nobody changed since)
    put back to the user's own value."""
    result = dict(environ)
    exported, saved = _state(environ)
    for name, value in exported.items():
        if environ.get(name) == value:
            original = saved.get(name)
            if original is None:
                result.pop(name, None)
            else:
                result[name] = original
    return result


def state_export(variables: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The GOTASKS_SHELL value that goes with exporting `variables` into `environ`'s shell."""
    before = user_environ(environ)
    saved = {name: before.get(name) for name in variables}
    return json.dumps({"exported": dict(variables), "saved": saved}, sort_keys=True)
