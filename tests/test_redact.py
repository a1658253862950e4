"""Credentials in URLs: parsed as Go's net/url does, hidden in every form they come in."""

from __future__ import annotations

import pytest

from gotasks.go.redact import redact, secrets_in, strip_credentials

# (text, redacted, stripped, secrets)
CASES = [
    # A raw "@" in the user name: the LAST "@" before the host ends the user info.
    (
        "https://me@corp.example:TOKEN@host/x",
        "https://me@corp.example:***@host/x",
        "https://host/x",
        ["TOKEN"],
    ),
    # ... and in the password.
    ("https://bob:p@ss@host", "https://bob:***@host", "https://host", ["p@ss"]),
    # A lone token is the secret, whatever it holds.
    ("https://t0ken@host", "https://***@host", "https://host", ["t0ken"]),
    ("https://to@ken@host:8080/p", "https://***@host:8080/p", "https://host:8080/p", ["to@ken"]),
    # The authority ends at "/", "?" or "#": an "@" after it is not user info.
    ("https://host/a@b", "https://host/a@b", "https://host/a@b", []),
    ("https://host?q=a@b", "https://host?q=a@b", "https://host?q=a@b", []),
    ("https://host#a@b", "https://host#a@b", "https://host#a@b", []),
    (
        "https://u:secret1@host/x?from=a@b",
        "https://u:***@host/x?from=a@b",
        "https://host/x?from=a@b",
        ["secret1"],
    ),
    # GOPROXY lists: "," and "|" separate URLs, each judged on its own.
    (
        "https://a:pass1@one.example,https://tok2@two.example|direct",
        "https://a:***@one.example,https://***@two.example|direct",
        "https://one.example,https://two.example|direct",
        ["pass1", "tok2"],
    ),
    # In a message: quotes and blanks end the URL; a mail address later is left alone.
    (
        'Get "https://t0ken@host": dial tcp; mail me@example.com',
        'Get "https://***@host": dial tcp; mail me@example.com',
        'Get "https://host": dial tcp; mail me@example.com',
        ["t0ken"],
    ),
    # GOSUMDB's "name+key URL" form; a percent-encoded secret is known in both forms.
    (
        "sum.example+key https://u:pw%40x1@h",
        "sum.example+key https://u:***@h",
        "sum.example+key https://h",
        ["pw%40x1", "pw@x1"],
    ),
    # No credentials, nothing changed.
    ("https://proxy.golang.org,direct", "https://proxy.golang.org,direct", None, []),
]


@pytest.mark.parametrize(("text", "redacted", "stripped", "secrets"), CASES)
def test_credentials_are_found_where_go_finds_them(
    text: str, redacted: str, stripped: str | None, secrets: list[str]
) -> None:
    assert redact(text) == redacted
    assert strip_credentials(text) == (stripped if stripped is not None else text)
    assert secrets_in(text) == secrets
    for secret in secrets:
        assert secret not in redact(text) and secret not in strip_credentials(text)


def test_a_secret_too_short_to_hide_everywhere_is_still_hidden_in_its_url() -> None:
    assert redact("https://u:ab@host") == "https://u:***@host"
    assert secrets_in("https://u:ab@host") == []
