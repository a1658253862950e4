"""The Go regexp patternmatcher makes of a .dockerignore pattern, written in Python's re
syntax item by item; what Python cannot say the same way (POSIX classes such as [:alpha:],
\\p Unicode classes) is refused (BadPattern), not guessed at. See container/ignorefile.py."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gotasks.container.gofilepath import MAX_RUNE


class BadPattern(Exception):
    """A pattern Docker rejects; the message says why."""


#
# The rewrite produces only part of Go's syntax: "(" and ")" of a pattern are always escaped,
# so there are no groups but its own "(.*/)" for "**". A regexp is alternatives ("|" reaches
# it raw), each a sequence of single items (a character, a class, an anchor, that group), each
# maybe repeated. Every item is written the way Python's re means the same thing; the Go
# syntax Python has no spelling for is refused.


@dataclass(frozen=True)
class _Item:
    regex: str  # Python re syntax
    prefix: str  # what a match of it may stop partway through (for walks: errs wider)
    kind: str  # "char": one character; "group": "(.*/)"; "anchor"; "repeat"


BEGIN = _Item(r"\A", r"\A", "anchor")
# Go's "$" and "\z" are the very end; Python's "$" would also match before a final newline.
_END = _Item(r"\Z", "", "anchor")
_GROUP = _Item("(?:.*/)", ".*", "group")
_ANCHORS = {
    "A": BEGIN,
    "z": _END,
    "b": _Item(r"\b", "", "anchor"),
    "B": _Item(r"\B", "", "anchor"),
}
# Go's Perl classes are ASCII, as Python's are under re.ASCII, except that Go's \s has no \v.
_GO_SPACE_CLASS = re.escape("\t\n\f\r ")
_NOT_GO_SPACE_CLASS = "\\x00-\\x08\\x0b\\x0e-\\x1f!-\\U0010ffff"
_PERL_CLASSES = {
    "d": "\\d",
    "D": "\\D",
    "w": "\\w",
    "W": "\\W",
    "s": _GO_SPACE_CLASS,
    "S": _NOT_GO_SPACE_CLASS,
}
_CONTROLS = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"
_COUNT = re.compile(r"\{(0|[1-9][0-9]*)(?:(,)([0-9]*))?\}")


def _char(regex: str) -> _Item:
    return _Item(regex, "", "char")


def _literal(code: int) -> _Item:
    return _char(re.escape(chr(code)))


def _no_python_spelling(what: str) -> BadPattern:
    return BadPattern(f"{what} is Go regexp syntax gotasks cannot check (write the characters out)")


class GoRegexp:
    """regexp/syntax.Parse (with regexp.Compile's Perl flags) of what the rewrite produces,
    written as Python re items. Errors carry Go's wording."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def parse(self) -> Branches:
        text = self.text
        branches: list[tuple[_Item, ...]] = []
        items: list[_Item] = []
        while self.pos < len(text):
            char = text[self.pos]
            if text.startswith("(.*/)", self.pos):
                items.append(_GROUP)
                self.pos += 5
            elif char == "|":
                branches.append(tuple(items))
                items = []
                self.pos += 1
            elif char in "^$":
                items.append(BEGIN if char == "^" else _END)
                self.pos += 1
            elif char == ".":
                items.append(_char("."))  # Go's "." too stops at "\n" only
                self.pos += 1
            elif char == "[":
                items.append(self._class())
            elif char in "*+?" or (char == "{" and self._count() is not None):
                self._repeat(items)
            elif char == "\\":
                items.extend(self._escape())
            else:
                # Includes a "{" that does not start a count, which Go takes literally.
                items.append(_literal(ord(char)))
                self.pos += 1
        branches.append(tuple(items))
        return tuple(branches)

    def _count(self) -> tuple[int, int | None, int] | None:
        """parseRepeat at self.pos: (least, most, end) for "{n}", "{n,}" or "{n,m}", with -1
        for a number too big; None when the text is not a count (then "{" is a literal)."""
        match = _COUNT.match(self.text, self.pos)
        if match is None:
            return None
        least = _repeat_number(match.group(1))
        if match.group(2) is None:
            return least, least, match.end()
        if not match.group(3):
            return least, None, match.end()
        if len(match.group(3)) > 1 and match.group(3).startswith("0"):
            return None  # Go refuses leading zeros, so this "{" is a literal
        most = _repeat_number(match.group(3))
        return (-1 if most < 0 else least), most, match.end()

    def _repeat(self, items: list[_Item]) -> None:
        text, start = self.text, self.pos
        char = text[start]
        if char == "{":
            least, most, after = self._count() or (0, None, 0)
            if (
                least < 0
                or least > 1000
                or (most or 0) > 1000
                or (most is not None and least > most)
            ):
                # Python would take counts up to 4294967295; Go stops at 1000.
                raise BadPattern(f"invalid repeat count: {text[start:after]}")
        else:
            least, most, after = (1 if char == "+" else 0), (1 if char == "?" else None), start + 1
        if items and items[-1].kind == "repeat":
            raise BadPattern("invalid nested repetition operator")
        if not items:
            raise BadPattern("missing argument to repetition operator")
        self.pos = after
        if text.startswith("?", after):
            self.pos += 1  # non-greedy: the same strings match
        item = items.pop()
        bound = "" if most is None else most
        regex = f"(?:{item.regex}){{{least},{bound}}}"
        # Some whole repetitions, then the start of one more: e{n,m} -> e{0,m-1} P(e).
        prefix = (
            ""
            if most == 0
            else f"(?:{item.regex}){{0,{'' if most is None else most - 1}}}{item.prefix}"
        )
        items.append(_Item(regex, prefix, "repeat"))

    def _escape(self) -> list[_Item]:
        text, pos = self.text, self.pos
        after = text[pos + 1 : pos + 2]
        if after in _ANCHORS:
            self.pos += 2
            return [_ANCHORS[after]]
        if after == "C":
            raise BadPattern("invalid escape sequence: \\C")
        if after == "Q":
            # \Q...\E is literal text, to the end if there is no \E (the final "$" included).
            stop = text.find("\\E", pos + 2)
            literal = text[pos + 2 :] if stop < 0 else text[pos + 2 : stop]
            self.pos = len(text) if stop < 0 else stop + 2
            return [_literal(ord(c)) for c in literal]
        if after in ("p", "P"):
            raise _no_python_spelling(f"the Unicode class \\{after}")
        if after in _PERL_CLASSES:
            self.pos += 2
            body = _PERL_CLASSES[after]
            return [_char(body if after in "dDwW" else f"[{body}]")]
        return [_literal(self._escaped_rune())]

    def _escaped_rune(self) -> int:
        """parseEscape: the rune a backslash sequence at self.pos stands for."""
        text = self.text
        start = self.pos
        self.pos += 1
        if self.pos >= len(text):
            raise BadPattern("trailing backslash at end of expression")
        char = text[self.pos]
        self.pos += 1
        if ord(char) < 0x80 and not char.isalnum():
            return ord(char)
        bad = BadPattern(f"invalid escape sequence: {text[start : self.pos]}")
        if char in _OCTAL:
            # A lone non-zero digit would be a backreference, which Go does not support.
            if char != "0" and text[self.pos : self.pos + 1] not in tuple(_OCTAL):
                raise bad
            code = ord(char) - 0x30
            for _ in range(2):
                if text[self.pos : self.pos + 1] not in tuple(_OCTAL):
                    break
                code = code * 8 + ord(text[self.pos]) - 0x30
                self.pos += 1
            return code
        if char == "x":
            if text[self.pos : self.pos + 1] == "{":
                close = text.find("}", self.pos)
                digits = text[self.pos + 1 : close] if close > 0 else ""
                if not digits or any(d not in _HEX for d in digits) or int(digits, 16) > MAX_RUNE:
                    raise bad
                self.pos = close + 1
                return int(digits, 16)
            digits = text[self.pos : self.pos + 2]
            if len(digits) < 2 or any(d not in _HEX for d in digits):
                raise bad
            self.pos += 2
            return int(digits, 16)
        if char in _CONTROLS:
            return _CONTROLS[char]
        raise bad

    def _class(self) -> _Item:
        """parseClass: a bracket expression starting at self.pos, each character or range
        escaped for Python (which would read "[[", "--" or "&&" in a class its own way)."""
        text = self.text
        self.pos += 1
        negated = text.startswith("^", self.pos)
        if negated:
            self.pos += 1
        parts: list[str] = []
        first = True  # "]" right after "[" or "[^" is a literal
        while self.pos >= len(text) or text[self.pos] != "]" or first:
            first = False
            pos = self.pos
            if text.startswith("[:", pos) and text.find(":]", pos + 2) >= 0:
                # Go reads [:alpha:] (or fails on an unknown name); Python has no such class.
                raise _no_python_spelling(f"the POSIX class {text[pos : text.find(':]', pos) + 2]}")
            letter = text[pos + 1 : pos + 2] if text.startswith("\\", pos) else ""
            if letter in ("p", "P"):
                raise _no_python_spelling(f"the Unicode class \\{letter}")
            if letter and letter in _PERL_CLASSES:
                parts.append(_PERL_CLASSES[letter])
                self.pos += 2
                continue
            low = self._class_char()
            high = low
            # "[a-]" is "a" or "-": a dash before the closing bracket is a literal.
            if text[self.pos : self.pos + 1] == "-" and text[self.pos + 1 : self.pos + 2] not in (
                "",
                "]",
            ):
                self.pos += 1
                high = self._class_char()
                if high < low:
                    raise BadPattern(f"invalid character class range: {text[pos : self.pos]}")
            part = re.escape(chr(low))
            parts.append(part if high == low else f"{part}-{re.escape(chr(high))}")
        self.pos += 1
        return _char(f"[{'^' if negated else ''}{''.join(parts)}]")

    def _class_char(self) -> int:
        if self.pos >= len(self.text):
            raise BadPattern("missing closing ]")
        if self.text[self.pos] == "\\":
            return self._escaped_rune()
        self.pos += 1
        return ord(self.text[self.pos - 1])


Branches = tuple[tuple[_Item, ...], ...]  # alternatives, each a sequence


def _repeat_number(digits: str) -> int:
    """parseInt's value: -1 once it passes 1e8, which the caller reports as too big."""
    value = 0
    for digit in digits:
        if value >= 100_000_000:
            return -1
        value = value * 10 + int(digit)
    return value


def prefixes_of(items: tuple[_Item, ...]) -> str:
    """A Python regexp for the prefixes of the strings `items` match: P(ab) = P(a) | a P(b).

    Word-boundary and end anchors are dropped (a prefix may end anywhere), which can only
    add strings, so a walk built on it errs towards descending."""
    out = ""
    for item in reversed(items):
        out = f"(?:{item.prefix}|{item.regex}{out})"
    return out
