""".dockerignore matching (checked against moby/patternmatcher) and the build context summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gotasks.container import buildcontext
from gotasks.container.buildcontext import ContextSummary, Entry, summarize
from gotasks.container.ignorefile import IgnoreFile, IgnoreRule
from gotasks.core.errors import UsageError

# (lines of .dockerignore, path, excluded?). Every row agrees with moby/patternmatcher v0.6.1
# (ignorefile.ReadAll, New, MatchesOrParentMatches), checked by running it.
CASES: list[tuple[tuple[str, ...], str, bool]] = [
    # docs.docker.com, "dockerignore files": the example file.
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "somedir/temporary.txt", True),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "somedir/temp", True),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "somedir/subdir/temporary.txt", True),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "tempa", True),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "tempb", True),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "temp", False),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "tempab", False),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "temporary.txt", False),
    (("# comment", "*/temp*", "*/*/temp*", "temp?"), "a/b/c/temporary.txt", False),
    (("temp?",), "dir/tempa", False),  # root only
    (("# comment",), "# comment", False),
    # "**" matches any number of folders, none included.
    (("**/*.go",), "main.go", True),
    (("**/*.go",), "cmd/tool/main.go", True),
    (("**/*.go",), "main.go.txt", False),
    # Exceptions: the last matching line wins.
    (("*.md", "!README.md"), "README.md", False),
    (("*.md", "!README.md"), "CHANGELOG.md", True),
    (("*.md", "!README.md"), "docs/guide.md", False),  # "*" never crosses a "/"
    (("*.md", "!README*.md", "README-secret.md"), "README-secret.md", True),
    (("*.md", "!README*.md", "README-secret.md"), "README-public.md", False),
    (("*.md", "!README*.md", "README-secret.md"), "NOTES.md", True),
    (("*.md", "README-secret.md", "!README*.md"), "README-secret.md", False),
    (("*.md", "README-secret.md", "!README*.md"), "NOTES.md", True),
    # Relative to the root, unlike .gitignore: a leading "/" changes nothing.
    (("/vendor",), "vendor/mod/a.go", True),
    (("vendor",), "vendor/mod/a.go", True),
    (("vendor",), "src/vendor/a.go", False),
    (("/vendor",), "src/vendor", False),
    # "**" at the start, in the middle, at the end.
    (("**/node_modules",), "node_modules", True),
    (("**/node_modules",), "web/app/node_modules/x/index.js", True),
    (("**/node_modules",), "web/node_modules_old", False),
    (("a/**/b",), "a/b", True),
    (("a/**/b",), "a/x/y/b", True),
    (("a/**/b",), "a/xb", False),
    (("a/**",), "a/x/y", True),
    (("a/**",), "a", False),  # "dir/**" is everything below dir, not dir itself
    (("**",), "anything/at/all", True),
    (("**/",), "file", True),
    (("**file",), "dir/myfile", True),  # a leading "**" is a plain suffix test
    (("**/foo/bar",), "foo/bar", True),
    (("**/**/*.txt",), "file.txt", True),
    (("**/**/*.txt2",), "dir/dir/file.txt", False),
    (("a**/*.txt",), "a/dir/dir/file.txt", True),
    (("**/.foo",), "bar.foo", False),
    # A folder pattern takes everything below it; an exception can bring a file back.
    (("dist",), "dist/linux/app", True),
    (("dist/",), "dist/linux/app", True),
    (("vendor", "!vendor/keep.txt"), "vendor/keep.txt", False),
    (("vendor", "!vendor/keep.txt"), "vendor/other.go", True),
    (("vendor", "!vendor/keep.txt"), "vendor", True),
    (("!vendor/keep.txt", "vendor"), "vendor/keep.txt", True),  # order matters
    (("docs", "!docs/README.md"), "docs/README.md", False),
    (("docs/*", "!docs/README.md"), "docs/README.md", False),
    (("**", "!util/docker/web"), "util/docker/web/foo", False),
    (("**", "!util/docker/web", "util/docker/web/foo"), "util/docker/web/foo", True),
    # Whitespace, comments, blank lines, cleaning.
    (("", "   ", "\tbuild  ", "# build/keep"), "build/keep", True),
    (("  # not a comment",), "# not a comment", True),  # "#" only counts in column 1
    (("  !  x.log  ", "*.log"), "x.log", True),
    (("*.log", "  !  x.log  "), "x.log", False),
    (("./out/../bin/",), "bin/tool", True),
    # filepath.Match-style wildcards, as patternmatcher's regexp implements them.
    (("abc.def",), "abcZdef", False),
    (("abc?def",), "abcZdef", True),
    (("abc?def",), "abc/def", False),
    (("a[b-d]e",), "ace", True),
    (("a[b-d]e",), "aae", False),
    (("a[^b-d]e",), "aze", True),
    ((".*",), ".foo", True),
    ((".*",), "foo", False),
    (("a?b",), "a☺b", True),
    (("a\\*b",), "a*b", True),
    (("a\\*b",), "axb", False),
    (("a\\\\",), "a\\", True),
    (("a(b)c/def",), "a(b)c/def", True),
    (("dist/*.whl",), "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    # Surprises, kept because Docker has them: "!" does not negate a class ...
    (("x[!a]",), "x!", True),
    (("x[!a]",), "xb", False),
    # ... and "{", "|" and "}" reach the regexp unescaped once a pattern has a wildcard.
    (("*.go|*.md",), "docs/guide.md", True),
    (("a?{2}",), "abc", True),
    (("a{2}",), "a{2}", True),  # no wildcard: compared as a plain string
    # Where Go's regexp and Python's re read the same text differently.
    (("a\\sb",), "a b", True),
    (("a\\sb",), "a\vb", False),  # Go's \s has no \v
    (("a\\Sb",), "a\vb", True),
    (("a[\\S]b",), "a\vb", True),
    (("x\\101",), "xA", True),  # octal, where Python would see a backreference
    (("x\\x{41}",), "xA", True),
    (("x[[a]",), "x[", True),  # "[" in a class is a literal
    (("a[*]",), "a]", True),  # "[[^/]*]": the class "[", "^", "/" repeated, then "]"
    (("a[*]",), "a[^]", True),
    (("a[*]",), "a*", False),
    (("\\Qab",), "ab$x", True),  # \Q quotes to the end, the final "$" included
    (("\\Qab",), "ab", False),
    (("a?{01}",), "ab{01}", True),  # not a count for Go (Python: {1})
    (("a?{01}",), "ab", False),
    (("a?{,2}",), "ab{,2}", True),  # not a count for Go (Python: {0,2})
    (("a?{,2}",), "ab", False),
]


def _ignore(lines: tuple[str, ...]) -> IgnoreFile:
    return IgnoreFile.parse("\n".join(lines) + "\n")


@pytest.mark.parametrize(("lines", "path", "excluded"), CASES)
def test_excludes_like_docker(lines: tuple[str, ...], path: str, excluded: bool) -> None:
    assert _ignore(lines).excludes(path) is excluded


def test_parse_keeps_lines_and_exceptions() -> None:
    text = "\ufeff# deps\nvendor/\n\n  !vendor/keep.txt \r\n/dist\n!/docs/../README.md\n"
    assert IgnoreFile.parse(text).rules == (
        IgnoreRule("vendor", False, 2),
        IgnoreRule("vendor/keep.txt", True, 4),
        IgnoreRule("dist", False, 5),
        IgnoreRule("README.md", True, 6),
    )


def test_read_missing_file_has_no_rules(tmp_path: Path) -> None:
    assert IgnoreFile.read(tmp_path / ".dockerignore").rules == ()
    (tmp_path / ".dockerignore").write_text("*.log\n")
    assert IgnoreFile.read(tmp_path / ".dockerignore").excludes("x.log")


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("ok\n[abc\n", 2, "'[abc'"),  # unterminated class (filepath.Match)
        ("# x\n\n!\n", 3, "'!'"),  # an exception of nothing
        ("[Local-Only]/\n", 1, "'[Local-Only]'"),  # l-O: a bad range once a regexp
        ("a*[\n", 1, "'a*['"),  # passes filepath.Match, fails as a regexp
        ("x\n!y\\\n", 2, "'!y\\\\'"),  # trailing backslash
    ],
)
def test_malformed_pattern_names_line(text: str, line: int, shown: str) -> None:
    with pytest.raises(UsageError) as caught:
        IgnoreFile.parse(text)
    message = str(caught.value)
    assert message.startswith(f".dockerignore:{line}: ")
    assert shown in message


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        ("[[:alpha:]]", "the POSIX class [:alpha:]"),
        ("x[[:^digit:]]", "the POSIX class [:^digit:]"),
        ("\\pL", "the Unicode class \\p"),
        ("a[\\P{Greek}]", "the Unicode class \\P"),
    ],
)
def test_go_only_regexp_syntax_is_refused(pattern: str, what: str) -> None:
    """Docker reads these as Go regexp classes; Python's re has no such classes, so the
    summary cannot know what Docker sends: refused with the line, not guessed at."""
    with pytest.raises(UsageError) as caught:
        IgnoreFile.parse(f"ok\n{pattern}\n")
    assert str(caught.value) == (
        f".dockerignore:2: bad pattern {pattern!r}: {what} is Go regexp syntax gotasks cannot"
        " check (write the characters out)"
    )


def test_read_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile.dockerignore"
    path.write_text("ok\n\n[x\n")
    with pytest.raises(UsageError, match=r"Dockerfile\.dockerignore:3: bad pattern '\[x'"):
        IgnoreFile.read(path)


@pytest.mark.parametrize(
    ("lines", "folder", "descend"),
    [
        (("vendor", "!vendor/keep.txt"), "vendor", True),
        (("vendor", "!vendor/keep.txt"), "vendor/sub", False),
        (("dist",), "dist", False),
        (("!vendor/keep.txt", "vendor"), "vendor", False),  # the exception comes too early
        (("vendor", "!**/keep.txt"), "vendor", True),
        (("vendor", "!vendor/*/LICENSE"), "vendor/mod", True),
        (("vendor", "!vendor/*/LICENSE"), "vendor/mod/sub", False),
        (("vendor", "!vendor/a[0-9]/x"), "vendor/b1", False),
        (("vendor", "!vendor/a[0-9]/x"), "vendor/a1", True),
        (("vendor", "!vendor/mod/**"), "vendor/mod", True),
        (("vendor", "!vendor/mod/**"), "vendor/other", False),
    ],
)
def test_may_reinclude_below(lines: tuple[str, ...], folder: str, descend: bool) -> None:
    assert _ignore(lines).may_reinclude_below(folder) is descend


SHIPPED = Path(__file__).resolve().parents[1] / ".dockerignore"


@pytest.mark.parametrize(
    "path",
    [
        "go.mod",
        "go.sum",
        "go.work",
        "go.work.sum",
        "hello/go.mod",
        "hello/cmd/hello/main.go",
        "vendor/modules.txt",
        "vendor/example.com/mod/mod.go",
        "hello/web/static/index.html",  # //go:embed assets, templates, SQL, YAML
        "hello/web/dist/app.js",
        "hello/templates/page.tmpl",
        "hello/db/migrations/001_init.sql",
        "hello/internal/config/defaults.yaml",
        "hello/scripts/gen.go",
        "README.md",
    ],
)
def test_shipped_dockerignore_keeps_what_a_go_build_needs(path: str) -> None:
    assert not IgnoreFile.read(SHIPPED).excludes(path)


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        "dist/hello_linux_amd64/hello",
        ".gotasks/history.json",
        "hello/greet/greet_test.go",
        "hello/greet/testdata/golden.txt",
        "tasks.py",
        "gotasks/docker.py",
        "config/prod.yaml",
        "web/node_modules/x/index.js",
        "Dockerfile",
    ],
)
def test_shipped_dockerignore_leaves_out_the_rest(path: str) -> None:
    assert IgnoreFile.read(SHIPPED).excludes(path)


def test_shipped_dockerignore_says_how_to_keep_embedded_testdata() -> None:
    """testdata/ stays out (test inputs can be large), so a non-test //go:embed of it would
    fail the image build: the file says what to add, and an exception after it works."""
    text = SHIPPED.read_text()
    assert "//go:embed of testdata/" in text and "needs its own line below this one" in text
    keep = IgnoreFile.parse(text + "!internal/geo/testdata/zones.json\n")
    assert not keep.excludes("internal/geo/testdata/zones.json")
    assert keep.excludes("internal/geo/testdata/other.json")
    assert keep.may_reinclude_below("internal/geo/testdata")


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


@pytest.fixture
def context(tmp_path: Path) -> Path:
    _write(tmp_path / ".git/objects/pack/pack-1.pack", 12_000)
    _write(tmp_path / ".git/HEAD", 23)
    _write(tmp_path / "dist/linux-amd64/app", 5_000)
    _write(tmp_path / "vendor/example.com/mod/mod.go", 3_000)
    _write(tmp_path / "vendor/keep.txt", 100)
    _write(tmp_path / "testdata/input.txt", 700)
    _write(tmp_path / "testdata/golden/out.json", 40)
    _write(tmp_path / "main.go", 1_000)
    _write(tmp_path / "go.mod", 50)
    (tmp_path / "main-link.go").symlink_to("main.go")  # counted at its lstat size, 7
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_summarize_without_ignore_file(context: Path) -> None:
    summary = summarize(context, None, top=3)
    assert summary == ContextSummary(
        files=10,
        bytes=12_000 + 23 + 5_000 + 3_000 + 100 + 700 + 40 + 1_000 + 50 + 7,
        largest=(Entry(".git", 12_023), Entry("dist", 5_000), Entry("vendor", 3_100)),
        largest_files=(
            Entry(".git/objects/pack/pack-1.pack", 12_000),
            Entry("dist/linux-amd64/app", 5_000),
            Entry("vendor/example.com/mod/mod.go", 3_000),
        ),
    )


def test_summarize_with_ignore_file(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ignore_text = "# VCS and outputs\n.git\n/dist/\nvendor\n!vendor/keep.txt\ntestdata/*.txt\n"
    (context / ".dockerignore").write_text(ignore_text)
    scanned: list[str] = []
    real_scandir = os.scandir

    def recording_scandir(path: Path) -> os._ScandirIterator[str]:
        scanned.append(Path(path).relative_to(context).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(buildcontext.os, "scandir", recording_scandir)
    summary = summarize(context, IgnoreFile.read(context / ".dockerignore"))
    dockerignore = len(ignore_text)
    assert summary.files == 6
    assert summary.bytes == 100 + 40 + 1_000 + 50 + 7 + dockerignore
    assert summary.largest == tuple(
        sorted(
            [
                Entry("main.go", 1_000),
                Entry("vendor", 100),  # only the file the exception kept
                Entry("go.mod", 50),
                Entry("testdata", 40),  # golden/out.json: "*.txt" is one level only
                Entry("main-link.go", 7),
                Entry(".dockerignore", dockerignore),
            ],
            key=lambda entry: (-entry.size, entry.path),
        )
    )
    assert summary.largest_files[0] == Entry("main.go", 1_000)
    assert Entry("vendor/keep.txt", 100) in summary.largest_files
    # Excluded folders are not walked, unless an exception could match inside them.
    assert ".git" not in scanned and "dist" not in scanned
    assert "vendor" in scanned and "vendor/example.com" not in scanned


def test_summarize_skips_special_files_and_honours_top(tmp_path: Path) -> None:
    _write(tmp_path / "a", 3)
    _write(tmp_path / "b", 3)
    _write(tmp_path / "c", 1)
    os.mkfifo(tmp_path / "pipe")
    summary = summarize(tmp_path, IgnoreFile(), top=2)
    assert (summary.files, summary.bytes) == (3, 7)
    assert summary.largest == (Entry("a", 3), Entry("b", 3))
    assert summary.largest_files == (Entry("a", 3), Entry("b", 3))
    assert summarize(tmp_path, None, top=0).largest == ()
