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

from gotasks.container.gofilepath import filepath_match_fails
from gotasks.container.goregexp import BEGIN, BadPattern, Branches, GoRegexp, prefixes_of
from gotasks.core.errors import UsageError

# strings.TrimSpace's notion of space (unicode.IsSpace); str.strip() would also eat \x1c-\x1f.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)


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
            except BadPattern as err:
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
    branches: Branches
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, pattern: str) -> _Matcher:
        # New only calls filepath.Match(pattern, ".") for its error, and Match stops at the
        # first chunk that fails, so "a*[" passes here and fails later as a regexp.
        if filepath_match_fails(pattern.encode("utf-8", "surrogateescape"), b"."):
            raise BadPattern("syntax error in pattern")
        kind, go_regexp = _translate(pattern)
        if kind is not _Kind.REGEXP:
            return cls(kind, pattern, (), None)
        # Go compiles the regexp on first use and every match then fails ("[Local-Only]" is a
        # bad range), which fails the build; failing when the file is read says it sooner.
        branches = GoRegexp(go_regexp).parse()
        try:
            regex = re.compile("|".join("".join(i.regex for i in b) for b in branches), re.ASCII)
        except (re.error, RecursionError) as err:
            raise BadPattern(f"cannot translate the regexp {go_regexp!r}: {err}") from None
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
            if not branch or branch[0] is not BEGIN:
                return None
            anchored.append(prefixes_of(branch))
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
