"""Credentials in URLs hidden before anything is printed: https://user:secret@host -> user:***."""

from __future__ import annotations

import re
from urllib.parse import unquote

# Parsed as Go's net/url and browsers do: the authority runs to the first "/", "?" or "#",
# and the user info ends at the LAST "@" in it, so a raw "@" in a user name or password
# (https://me@corp.example:TOKEN@host) stays inside the user info. The user name ends at
# the first ":". GOPROXY lists URLs separated by "," and "|", so those end a URL too, as do
# blanks and the quotes and brackets around a URL in a message (none is valid in user
# info; "'" is, so it is not one of them).
_CREDENTIALS = re.compile(r'(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s,|"<>`]*)@')
MARK = "***"
# A secret shorter than this is not hidden where it appears outside a URL: "ab" would
# blank out every "ab" in a compiler message, and hides nothing worth hiding.
MIN_SECRET = 4


def redact(text: str) -> str:
    """https://user:secret@host -> https://user:***@host; a lone token -> https://***@host."""

    def hide(match: re.Match[str]) -> str:
        user, colon, _ = match.group("userinfo").partition(":")
        if not colon:  # a lone token is the secret itself
            return f"{match.group('scheme')}{MARK}@"
        return f"{match.group('scheme')}{user}:{MARK}@"

    return _CREDENTIALS.sub(hide, text)


def has_credentials(text: str) -> bool:
    return redact(text) != text


def strip_credentials(text: str) -> str:
    """https://user:secret@host -> https://host: what may be shown or stored anywhere."""
    return _CREDENTIALS.sub(lambda m: m.group("scheme"), text)


def secrets_in(text: str) -> list[str]:
    """The secret parts of every URL in `text`: each password, and each lone token (a user
    name without a password is how a token is usually given), as written and percent-decoded
    (tools print either). What redact() hides in URLs, to be hidden in any other text too."""
    found: list[str] = []
    for match in _CREDENTIALS.finditer(text):
        user, colon, password = match.group("userinfo").partition(":")
        secret = password if colon else user
        for form in (secret, unquote(secret)):
            if len(form) >= MIN_SECRET and form not in found:
                found.append(form)
    return found
