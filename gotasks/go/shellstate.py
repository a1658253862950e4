"""What `eval "$(inv env)"` left in a shell, so that the next `inv env` can undo it.

`inv env` exports the Go variables and records, in GOTASKS_SHELL, what it exported and
what the user had before. A later run reads the user's own values back from there:
switching from prod to dev must not keep prod's GOFLAGS or tags as if the user set them.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping

from gotasks.go.redact import MARK, redact

STATE_VARIABLE = "GOTASKS_SHELL"
# What a shell takes as a variable's name. GOTASKS_SHELL comes from the environment, where
# anyone may have put anything: an entry under any other name is ignored, never printed.
SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _state(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str | None]]:
    try:
        state = json.loads(environ.get(STATE_VARIABLE, "") or "{}")
        exported, saved = state.get("exported", {}), state.get("saved", {})
    except (ValueError, AttributeError):
        return {}, {}
    if not isinstance(exported, dict) or not isinstance(saved, dict):
        return {}, {}
    exported = {
        name: value
        for name, value in exported.items()
        if SHELL_NAME.fullmatch(name) and isinstance(value, str)
    }
    saved = {
        name: value
        for name, value in saved.items()
        if name in exported and (value is None or isinstance(value, str))
    }
    return exported, saved


def user_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every variable an earlier `inv env` set (and nobody changed since)
    put back to the user's own value. A value saved with its credentials hidden cannot be
    put back: it counts as unset (the shipped defaults apply) rather than as `***`."""
    result = dict(environ)
    exported, saved = _state(environ)
    for name, value in exported.items():
        if environ.get(name) == value:
            original = saved.get(name)
            if original is None or MARK in original:
                result.pop(name, None)
            else:
                result[name] = original
    return result


def state_export(variables: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The GOTASKS_SHELL value that goes with exporting `variables` into `environ`'s shell."""
    before = user_environ(environ)
    # Saved values are printed too, so they are redacted like the rest.
    saved = {name: _redacted(before.get(name)) for name in variables}
    return json.dumps({"exported": dict(variables), "saved": saved}, sort_keys=True)


def _redacted(value: str | None) -> str | None:
    return None if value is None else redact(value)


def undo_lines(current: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """Shell lines putting back what an earlier `inv env` exported and this one does not
    (a GOINSECURE that only prod sets must not outlive a switch to dev)."""
    exported, _ = _state(environ)
    mine = user_environ(environ)
    lines = []
    for name in sorted(set(exported) - set(current)):
        if environ.get(name) != exported[name]:
            continue  # changed by hand since: the user's now
        value = mine.get(name)
        # `name` is a plain word (_state); the value is quoted like every other.
        lines.append(f"unset {name}" if value is None else f"export {name}={shlex.quote(value)}")
    return lines
