""".dockerignore rules, parsed and matched the way the Docker CLI and BuildKit do.

The reference is moby/patternmatcher (ignorefile.ReadAll, then New and MatchesOrParentMatches),
which BuildKit's dockerfile frontend and the docker CLI both use. Patternmatcher does not match
with filepath.Match: it rewrites each pattern into a Go regexp, character by character, and only
uses filepath.Match to reject some malformed patterns. Both steps are ported here as they are,
quirks included, because a context summary that disagrees with what `docker build` sends is
worse than none; the quirks that surprise are noted where they happen. The Go regexp is then
written item by item in Python's re syntax: the rewrite leaves only a small part of Go's syntax
to translate, and what Python cannot say the same way (POSIX classes such as [:alpha:], \\p
Unicode classes) is refused with the line, not guessed at.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gotasks.core.errors import UsageError

# strings.TrimSpace's notion of space (unicode.IsSpace); str.strip() would also eat \x1c-\x1f.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)
_MAX_RUNE = 0x10FFFF
_RUNE_ERROR = 0xFFFD


@dataclass(frozen=True)
class IgnoreRule:
    """One pattern line: `pattern` is cleaned (no leading `/`, no `!`), `line` is 1-based."""

    pattern: str
    exception: bool
    line: int


class IgnoreFile:
    """The rules of one .dockerignore, in file order: for any path, the last rule that matches
    the path or one of its parent folders decides, and an exception (`!`) means "keep"."""

    def __init__(self, rules: Iterable[IgnoreRule] = (), *, source: str = ".dockerignore"):
        self.rules: tuple[IgnoreRule, ...] = tuple(rules)
        self.source = source
        matchers = []
        for rule in self.rules:
            try:
                matchers.append(_Matcher.compile(rule.pattern))
            except _BadPattern as err:
                shown = ("!" if rule.exception else "") + rule.pattern
                raise UsageError(f"{source}:{rule.line}: bad pattern {shown!r}: {err}") from None
        self._matchers: tuple[_Matcher, ...] = tuple(matchers)
        # Which rules match a folder or one of its parents, as a bit mask: every file of a
        # folder needs it, so a walk computes it once per folder instead of once per file.
        self._folder_masks: dict[str, int] = {}

    @classmethod
    def parse(cls, text: str, *, source: str = ".dockerignore") -> IgnoreFile:
        """Rules from the file's text, as ignorefile.ReadAll and patternmatcher.New read them."""
        rules = []
        for number, line in enumerate(text.split("\n"), start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")
            line = line.removesuffix("\r")  # bufio.ScanLines drops one CR before the LF
            # The comment test comes before trimming: "  # note" is a pattern, not a comment.
            if line.startswith("#"):
                continue
            pattern = line.strip(_GO_SPACE)
            if not pattern:
                continue
            exception = pattern.startswith("!")
            if exception:
                pattern = pattern[1:].strip(_GO_SPACE)
            if pattern:
                pattern = go_clean(pattern)
                # Patterns are relative to the context root, so "/foo" is "foo" (but "/" stays).
                if len(pattern) > 1 and pattern.startswith("/"):
                    pattern = pattern[1:]
            # patternmatcher.New trims and cleans once more, with the "!" glued to the first
            # element: so "!/" becomes "!" (an error) and "!../../x" becomes the plain "x".
            full = go_clean(("!" + pattern if exception else pattern).strip(_GO_SPACE))
            if full == "!":
                raise UsageError(
                    f"{source}:{number}: bad pattern {line.strip(_GO_SPACE)!r}: "
                    "a lone '!' is not a pattern"
                )
            if full.startswith("!"):
                rules.append(IgnoreRule(full[1:], True, number))
            else:
                rules.append(IgnoreRule(full, False, number))
        return cls(rules, source=source)

    @classmethod
    def read(cls, path: Path) -> IgnoreFile:
        """The rules in `path`; a missing file has none, as for `docker build`."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls(source=str(path))
        # surrogateescape: a pattern with undecodable bytes still matches those bytes in a
        # name from os.scandir, which decodes the same way.
        return cls.parse(data.decode("utf-8", "surrogateescape"), source=str(path))

    def excludes(self, rel: str) -> bool:
        """Whether the '/'-separated path `rel` (relative to the context root) is left out.

        This is MatchesOrParentMatches. BuildKit's context walker (fsutil) chains
        MatchesUsingParentResults instead, where a rule that was skipped for a folder (an
        exception while the folder was not excluded) does not count for what is inside it.
        The two differ only in that corner: with "**/*.log" then "!logs", logs/debug.log is
        kept here (the exception matches its folder) and left out by BuildKit's walk."""
        path = go_clean(rel)
        if path == ".":
            return False  # patternmatcher never excludes the root itself
        mask = self._own_mask(path) | self._folder_mask(_go_dir(path))
        return mask != 0 and not self.rules[mask.bit_length() - 1].exception

    def may_reinclude_below(self, rel_dir: str) -> bool:
        """Whether a walk must look inside `rel_dir` even though it is excluded: True when an
        exception listed after every rule that excludes rel_dir could match a path below it.

        Only exceptions after the last rule matching rel_dir (or a parent) can win for a path
        below it, since that rule matches the whole subtree too. The answer errs towards True
        (descending costs time, never correctness: each path found is still checked)."""
        folder = go_clean(rel_dir)
        if folder == ".":
            return any(rule.exception for rule in self.rules)
        mask = self._own_mask(folder) | self._folder_mask(_go_dir(folder))
        after = 0
        for index in range(len(self.rules)):
            if mask >> index & 1 and not self.rules[index].exception:
                after = index + 1
        return any(
            self.rules[index].exception and self._matchers[index].could_match_below(folder)
            for index in range(after, len(self.rules))
        )

    def _own_mask(self, path: str) -> int:
        mask = 0
        for index, matcher in enumerate(self._matchers):
            if matcher.matches(path):
                mask |= 1 << index
        return mask

    def _folder_mask(self, folder: str) -> int:
        """Rules matching `folder` or a folder above it, as MatchesOrParentMatches tries them:
        the prefixes of Dir(path) split at '/'."""
        if folder == ".":
            return 0
        cached = self._folder_masks.get(folder)
        if cached is None:
            head, sep, _ = folder.rpartition("/")
            cached = (self._folder_mask(head) if sep else 0) | self._own_mask(folder)
            if len(self._folder_masks) > 100_000:
                self._folder_masks.clear()  # bound memory on huge trees
            self._folder_masks[folder] = cached
        return cached


def go_clean(path: str) -> str:
    """Go's path.Clean: normpath, except that Go keeps no leading "//"."""
    cleaned = posixpath.normpath(path)
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def _go_dir(path: str) -> str:
    """Go's path.Dir."""
    return go_clean(path[: path.rfind("/") + 1])


class _BadPattern(Exception):
    """A pattern Docker rejects; the message says why."""


class _Kind(enum.Enum):
    # patternmatcher's match types: only REGEXP uses the regexp, the others compare strings.
    EXACT = enum.auto()
    PREFIX = enum.auto()
    SUFFIX = enum.auto()
    REGEXP = enum.auto()


@dataclass(frozen=True)
class _Matcher:
    kind: _Kind
    pattern: str
    branches: _Branches
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, pattern: str) -> _Matcher:
        # New only calls filepath.Match(pattern, ".") for its error, and Match stops at the
        # first chunk that fails, so "a*[" passes here and fails later as a regexp.
        if _filepath_match_fails(pattern.encode("utf-8", "surrogateescape"), b"."):
            raise _BadPattern("syntax error in pattern")
        kind, go_regexp = _translate(pattern)
        if kind is not _Kind.REGEXP:
            return cls(kind, pattern, (), None)
        # Go compiles the regexp on first use and every match then fails ("[Local-Only]" is a
        # bad range), which fails the build; failing when the file is read says it sooner.
        branches = _GoRegexp(go_regexp).parse()
        try:
            regex = re.compile("|".join("".join(i.regex for i in b) for b in branches), re.ASCII)
        except (re.error, RecursionError) as err:
            raise _BadPattern(f"cannot translate the regexp {go_regexp!r}: {err}") from None
        return cls(kind, pattern, branches, regex)

    def matches(self, path: str) -> bool:
        if self.kind is _Kind.EXACT:
            return path == self.pattern
        if self.kind is _Kind.PREFIX:
            # "dir/**" keeps its "/": it matches everything below dir, but not dir itself.
            return path.startswith(self.pattern[:-2])
        if self.kind is _Kind.SUFFIX:
            # A plain string test, not the regexp: "**foo" matches "xfoo" and "a/xfoo".
            suffix = self.pattern[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        # Go's MatchString searches: only the first alternative is anchored by the "^".
        return self.regex.search(path) is not None

    def could_match_below(self, folder: str) -> bool:
        """Whether some path starting with `folder`/ could match (may err towards True)."""
        below = folder + "/"
        if self.kind is _Kind.EXACT:
            return self.pattern.startswith(below)
        if self.kind is _Kind.PREFIX:
            head = self.pattern[:-2]
            return head.startswith(below) or below.startswith(head)
        if self.kind is _Kind.SUFFIX:
            return True  # folder/<anything> can end with the suffix
        assert self.regex is not None
        if self.regex.search(below):
            return True  # a match that is not anchored at the end ("\Q" quoted the "$")
        return self._prefixes is None or self._prefixes.fullmatch(below) is not None

    @cached_property
    def _prefixes(self) -> re.Pattern[str] | None:
        """The strings that can start a match, or None when any string can: an alternative
        without a leading "^" can match after whatever the path starts with."""
        anchored = []
        for branch in self.branches:
            if not branch or branch[0] is not _BEGIN:
                return None
            anchored.append(_prefixes_of(branch))
        try:
            return re.compile("|".join(anchored), re.ASCII)
        except (re.error, RecursionError):
            return None


# --- patternmatcher's pattern -> Go regexp rewrite -------------------------------------------


def _translate(pattern: str) -> tuple[_Kind, str]:
    """Pattern.compile from patternmatcher: the match type and, for REGEXP, the Go regexp."""
    regexp = "^"
    kind = _Kind.EXACT
    pos, end, step = 0, len(pattern), 0
    while pos < end:
        char = pattern[pos]
        pos += 1
        if char == "*":
            if pos < end and pattern[pos] == "*":
                pos += 1
                if pos < end and pattern[pos] == "/":
                    pos += 1  # "**/" is "**"
                if pos == end:
                    if kind is _Kind.EXACT:
                        kind = _Kind.PREFIX
                    else:
                        regexp += ".*"
                        kind = _Kind.REGEXP
                else:
                    # Any number of folders, or none: "a**b" matches "ab" and "a/x/b", but
                    # not "axb".
                    regexp += "(.*/)?"
                    kind = _Kind.REGEXP
                if step == 0:
                    # A leading "**" makes a suffix match unless a later wildcard switches the
                    # type back to REGEXP; "." and other literals after it do not.
                    kind = _Kind.SUFFIX
            else:
                regexp += "[^/]*"
                kind = _Kind.REGEXP
        elif char == "?":
            regexp += "[^/]"
            kind = _Kind.REGEXP
        elif char in ".+()$":
            # patternmatcher means to escape ".+()|{}$" too, but its bitmap (a bit 1<<(b/8) in
            # an [8]byte) loses every byte from 64 up: "{", "|" and "}" reach the regexp raw.
            # So "a?{2}" is "a" and two characters, and "*.go|*.md" is "^[^/]*\.go" or
            # "[^/]*\.md$", searched anywhere in the path. Literal patterns are unaffected.
            regexp += "\\" + char
        elif char == "\\":
            # The escaped character goes to the regexp as is, so "\d" is a digit class and
            # "\Q" starts quoting (Go regexp escapes, not filepath.Match's literal escapes).
            if pos < end:
                regexp += "\\" + pattern[pos]
                pos += 1
                kind = _Kind.REGEXP
            else:
                regexp += "\\"
        elif char in "[]":
            # Brackets go to the regexp raw: classes are Go regexp classes, so "[!a]" is "!" or
            # "a" (only "^" negates), "[[:digit:]]" is a POSIX class (refused below: Python has
            # none), and "*" or "?" inside brackets is rewritten like anywhere else: "[*]" is
            # the class "[[^/]" repeated, then a "]".
            regexp += char
            kind = _Kind.REGEXP
        else:
            regexp += char  # "^" is not escaped: mid-pattern it is an anchor in a REGEXP
        step += 1
    if kind is _Kind.REGEXP:
        regexp += "$"
    return kind, regexp


# --- filepath.Match, for the error it returns ------------------------------------------------


def _decode_rune(data: bytes) -> tuple[int, int]:
    """utf8.DecodeRune: the rune and its width; (RuneError, 1) for a bad byte."""
    if not data:
        return _RUNE_ERROR, 0
    for width in range(1, min(4, len(data)) + 1):
        try:
            text = data[:width].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return ord(text), width
    return _RUNE_ERROR, 1


def _filepath_match_fails(pattern: bytes, name: bytes) -> bool:
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
    return rune, rest, (rune == _RUNE_ERROR and width == 1) or not rest


# --- the Go regexp the rewrite produces, as Python re ----------------------------------------
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


_BEGIN = _Item(r"\A", r"\A", "anchor")
# Go's "$" and "\z" are the very end; Python's "$" would also match before a final newline.
_END = _Item(r"\Z", "", "anchor")
_GROUP = _Item("(?:.*/)", ".*", "group")
_ANCHORS = {
    "A": _BEGIN,
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


def _no_python_spelling(what: str) -> _BadPattern:
    return _BadPattern(
        f"{what} is Go regexp syntax gotasks cannot check (write the characters out)"
    )


class _GoRegexp:
    """regexp/syntax.Parse (with regexp.Compile's Perl flags) of what the rewrite produces,
    written as Python re items. Errors carry Go's wording."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def parse(self) -> _Branches:
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
                items.append(_BEGIN if char == "^" else _END)
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
                raise _BadPattern(f"invalid repeat count: {text[start:after]}")
        else:
            least, most, after = (1 if char == "+" else 0), (1 if char == "?" else None), start + 1
        if items and items[-1].kind == "repeat":
            raise _BadPattern("invalid nested repetition operator")
        if not items:
            raise _BadPattern("missing argument to repetition operator")
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
            raise _BadPattern("invalid escape sequence: \\C")
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
            raise _BadPattern("trailing backslash at end of expression")
        char = text[self.pos]
        self.pos += 1
        if ord(char) < 0x80 and not char.isalnum():
            return ord(char)
        bad = _BadPattern(f"invalid escape sequence: {text[start : self.pos]}")
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
                if not digits or any(d not in _HEX for d in digits) or int(digits, 16) > _MAX_RUNE:
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
                    raise _BadPattern(f"invalid character class range: {text[pos : self.pos]}")
            part = re.escape(chr(low))
            parts.append(part if high == low else f"{part}-{re.escape(chr(high))}")
        self.pos += 1
        return _char(f"[{'^' if negated else ''}{''.join(parts)}]")

    def _class_char(self) -> int:
        if self.pos >= len(self.text):
            raise _BadPattern("missing closing ]")
        if self.text[self.pos] == "\\":
            return self._escaped_rune()
        self.pos += 1
        return ord(self.text[self.pos - 1])


_Branches = tuple[tuple[_Item, ...], ...]  # alternatives, each a sequence


def _repeat_number(digits: str) -> int:
    """parseInt's value: -1 once it passes 1e8, which the caller reports as too big."""
    value = 0
    for digit in digits:
        if value >= 100_000_000:
            return -1
        value = value * 10 + int(digit)
    return value


def _prefixes_of(items: tuple[_Item, ...]) -> str:
    """A Python regexp for the prefixes of the strings `items` match: P(ab) = P(a) | a P(b).

    Word-boundary and end anchors are dropped (a prefix may end anywhere), which can only
    add strings, so a walk built on it errs towards descending."""
    out = ""
    for item in reversed(items):
        out = f"(?:{item.prefix}|{item.regex}{out})"
    return out
