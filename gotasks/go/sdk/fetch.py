"""HTTP for SDK installs: a release index, and archives streamed to a .part file and hashed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gotasks.core.cancel import check_stop, on_stop
from gotasks.core.errors import TaskFailed
from gotasks.go.redact import redact as redact_url

CHUNK = 256 * 1024
Progress = Callable[[int, int], None]  # (bytes so far, bytes expected)


class SourceError(TaskFailed):
    """This source could not give what was asked (unreachable, 404, cut short, bad data);
    the installer tries the next one."""


def _request(url: str) -> urllib.request.Request:
    """A request for `url`; user:password in it (a company mirror) becomes Basic auth, as
    curl would do, since urllib would take the user:password for part of the host. The header
    is not passed on to a redirect's target (a mirror's CDN must not get the password)."""
    parts = urllib.parse.urlsplit(url)
    auth = None
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    request = urllib.request.Request(url, headers={"User-Agent": "gotasks-sdk"})
    if auth is not None:
        request.add_unredirected_header("Authorization", auth)
    return request


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    shown = redact_url(url)
    try:
        request = _request(url)
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise SourceError(f"{shown}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise SourceError(f"{shown}: unreachable ({_reason(error.reason)})") from None
    except TimeoutError:
        raise SourceError(f"{shown}: no answer in {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise SourceError(f"{shown}: {_reason(error)}") from None
    except ValueError as error:  # not a URL urllib can open
        raise SourceError(f"{shown}: not an http(s) URL ({error})") from None
    assert isinstance(response, http.client.HTTPResponse)
    return response


def _reason(error: object) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def fetch_json(url: str, timeout: float) -> Any:
    with _open(url, timeout) as response:
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise SourceError(f"{redact_url(url)}: {_reason(error)}") from None
    try:
        return json.loads(body)
    except ValueError as error:
        raise SourceError(f"{redact_url(url)}: not JSON ({error})") from None


def _socket_of(response: http.client.HTTPResponse) -> socket.socket | None:
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _shutdown(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def download(
    url: str,
    part: Path,
    size: int | None,
    timeout: float,
    progress: Progress | None = None,
    written: Callable[[int], None] | None = None,
) -> str:
    """Stream `url` into `part` (always written anew: a stale .part is never trusted),
    hashing as it goes; the SHA-256. A body shorter or longer than `size` is an error.
    `written` is told how many bytes are in the file after each write (what raises there
    ends the download)."""
    shown = redact_url(url)
    with _open(url, timeout) as response:
        length = response.getheader("Content-Length")
        expected = size if size is not None else int(length) if length and length.isdigit() else 0
        digest = hashlib.sha256()
        done = 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        # Ctrl-C while a read waits on a slow server: closing the socket ends the read.
        with os.fdopen(fd, "wb") as out, on_stop(lambda: _shutdown(_socket_of(response))):
            while True:
                check_stop()
                try:
                    chunk = response.read1(CHUNK)
                except http.client.IncompleteRead as error:
                    chunk = error.partial
                    if not chunk:
                        break
                except TimeoutError:
                    raise SourceError(f"{shown}: stalled, no data in {timeout:g} s") from None
                except (OSError, http.client.HTTPException) as error:
                    check_stop()
                    raise SourceError(f"{shown}: download broke off ({_reason(error)})") from None
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if written is not None:
                    out.flush()
                    written(done)
                if size is not None and done > size:
                    raise SourceError(f"{shown}: more than the {size} bytes the index lists")
                if progress is not None:
                    progress(done, expected)
            check_stop()
            out.flush()
            os.fsync(out.fileno())
    if expected and done != expected:
        raise SourceError(f"{shown}: download cut short: {done} of {expected} bytes")
    return digest.hexdigest()
