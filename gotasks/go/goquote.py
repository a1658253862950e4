"""One word of -ldflags (or -gcflags), quoted the way go's own flag splitter reads it."""

from __future__ import annotations

from gotasks.core.errors import UsageError


def unquotable(value: str) -> str | None:
    """Why `value` cannot be one -ldflags word, or None."""
    if "\n" in value or "\0" in value:
        return f"a line break or NUL byte cannot go into -ldflags: {value!r}"
    if "'" in value and '"' in value:
        return f"holds both ' and \" and cannot be passed to -ldflags: {value!r}"
    return None


def go_quote(value: str, what: str) -> str:
    """Quote one -ldflags word the way go's own flag splitter reads it (cmd/internal/quoted).

    No shell sees this: go splits -ldflags on spaces and honours ' and " quotes, nothing else.
    """
    if value and not any(ch in value for ch in " \t\n'\""):
        return value
    why = unquotable(value)
    if why is not None:
        raise UsageError(f"{what}: {why}")
    quote = "'" if "'" not in value else '"'
    return f"{quote}{value}{quote}"
