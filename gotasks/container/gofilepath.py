"""A port of Go's filepath.Match, for the one thing patternmatcher uses it for: whether a
.dockerignore pattern is malformed (ErrBadPattern). See container/ignorefile.py."""

from __future__ import annotations

MAX_RUNE = 0x10FFFF
RUNE_ERROR = 0xFFFD


def _decode_rune(data: bytes) -> tuple[int, int]:
    """utf8.DecodeRune: the rune and its width; (RuneError, 1) for a bad byte."""
    if not data:
        return RUNE_ERROR, 0
    for width in range(1, min(4, len(data)) + 1):
        try:
            text = data[:width].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return ord(text), width
    return RUNE_ERROR, 1


def filepath_match_fails(pattern: bytes, name: bytes) -> bool:
    """Whether Go's filepath.Match(pattern, name) returns ErrBadPattern (on a '/' system)."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return False
        rest, ok, bad = _match_chunk(chunk, name)
        if ok and (not rest or pattern):
            name = rest
            continue
        if bad:
            return True
        if not star:
            return False
        advanced = False
        index = 0
        while index < len(name) and name[index] != ord("/"):
            rest, ok, bad = _match_chunk(chunk, name[index + 1 :])
            if ok:
                if not pattern and rest:
                    index += 1
                    continue
                name = rest
                advanced = True
                break
            if bad:
                return True
            index += 1
        if not advanced:
            return False
    return False


def _scan_chunk(pattern: bytes) -> tuple[bool, bytes, bytes]:
    star = False
    while pattern[:1] == b"*":
        pattern = pattern[1:]
        star = True
    in_range = False
    index = 0
    while index < len(pattern):
        byte = pattern[index]
        if byte == ord("\\"):
            if index + 1 < len(pattern):
                index += 1
        elif byte == ord("["):
            in_range = True
        elif byte == ord("]"):
            in_range = False
        elif byte == ord("*") and not in_range:
            return star, pattern[:index], pattern[index:]
        index += 1
    return star, pattern, b""


def _match_chunk(chunk: bytes, s: bytes) -> tuple[bytes, bool, bool]:
    """filepath.matchChunk: (rest, ok, bad pattern). It reads the whole chunk even after a
    mismatch, which is what makes Match report errors."""
    failed = False
    while chunk:
        failed = failed or not s
        first = chunk[0]
        if first == ord("["):
            rune = 0
            if not failed:
                rune, width = _decode_rune(s)
                s = s[width:]
            chunk = chunk[1:]
            negated = chunk[:1] == b"^"
            if negated:
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk[:1] == b"]" and ranges > 0:
                    chunk = chunk[1:]
                    break
                low, chunk, bad = _get_esc(chunk)
                if bad:
                    return b"", False, True
                high = low
                if chunk[:1] == b"-":
                    high, chunk, bad = _get_esc(chunk[1:])
                    if bad:
                        return b"", False, True
                matched = matched or low <= rune <= high
                ranges += 1
            failed = failed or matched == negated
        elif first == ord("?"):
            if not failed:
                failed = s[0] == ord("/")
                s = s[_decode_rune(s)[1] :]
            chunk = chunk[1:]
        else:
            if first == ord("\\"):
                chunk = chunk[1:]
                if not chunk:
                    return b"", False, True
            if not failed:
                failed = chunk[0] != s[0]
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return b"", False, False
    return s, True, False


def _get_esc(chunk: bytes) -> tuple[int, bytes, bool]:
    if not chunk or chunk[:1] in (b"-", b"]"):
        return 0, chunk, True
    if chunk[:1] == b"\\":
        chunk = chunk[1:]
        if not chunk:
            return 0, chunk, True
    rune, width = _decode_rune(chunk)
    rest = chunk[width:]
    return rune, rest, (rune == RUNE_ERROR and width == 1) or not rest
