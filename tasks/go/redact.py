"""Credentials in URLs hidden before anything is printed: https://user:secret@host -> user:***."""

from __future__ import annotations

import re

# The password runs to the last "@" before the host: a raw "@" in it must not leak the rest.
# GOPROXY lists URLs separated by "," and "|", so those end a URL too.
_CREDENTIALS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s,|]*)(?P<password>:[^/\s,|]*)?@"
)
MARK = "***"


def redact(text: str) -> str:
    """https://user:secret@host -> https://user:***@host; a lone token -> https://***@host."""

    def hide(match: re.Match[str]) -> str:
        if match.group("password") is None:  # a lone token is the secret itself
            return f"{match.group('scheme')}{MARK}@"
        return f"{match.group('scheme')}{match.group('user')}:{MARK}@"

    return _CREDENTIALS.sub(hide, text)


def has_credentials(text: str) -> bool:
    return redact(text) != text


def strip_credentials(text: str) -> str:
    """https://user:secret@host -> https://host: what may be shown or stored anywhere."""
    return _CREDENTIALS.sub(lambda m: m.group("scheme"), text)
