"""Config values that used to slip through or end in a traceback: nested `${...}`, numbers
YAML reads as infinite, timeouts and factors past what the OS or the scheduler can take,
files that are not UTF-8, -ldflags words go cannot quote. Pure code: no inv, no go."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gotasks.configspec import SPEC
from gotasks.core.errors import UsageError
from gotasks.core.schema import Section, Value
from gotasks.core.yamlconf import expand_vars, load
from gotasks.engine.plan import run_variable_problems
from gotasks.settings import Settings, load_settings

ENV = {"A": "a", "B": "b", "EMPTY": ""}


@pytest.fixture(autouse=True)
def _at_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # config files are named relative to where inv runs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A:-${B}}", "a"),
        ("${X:-${B}}", "b"),
        ("${EMPTY:-${B}}", "b"),
        ("${X:-${Y}}", ""),
        ("${X:-${Y:-${Z:-deep}}}", "deep"),
        ("${X:-$B-and-$$}", "b-and-$"),
        ("${X:-pre${B}post}tail", "prebposttail"),
        ("${X:-${Y:-1}}-${A:-${Y:-2}}", "1-a"),
        ("${X:-a}}", "a}"),  # a } after the closed one is text, as it always was
        ("${X:-}", ""),
        ("$$${A}", "$a"),
        ("cost $5", "cost $5"),  # $ before what cannot be a name is itself
    ],
)
def test_defaults_nest(text: str, expected: str) -> None:
    assert expand_vars(text, ENV, "config/dev.yaml:3: go.env.GOPROXY") == expected


@pytest.mark.parametrize(
    "text",
    ["${X:-${Y}", "${X:-${Y:-z}", "${A-x}", "${A:=x}", "${}", "${1A}", "${A", "${X:-${}}"],
)
def test_a_broken_or_unclosed_variable_is_one_line_with_file_and_key(text: str) -> None:
    with pytest.raises(UsageError) as err:
        expand_vars(text, ENV, "config/dev.yaml:3: go.env.GOPROXY")
    message = str(err.value)
    assert message == (
        f"config/dev.yaml:3: go.env.GOPROXY: unterminated or invalid '${{...}}' in {text!r}"
    )


def test_nesting_deeper_than_eight_is_refused_not_a_recursion_error() -> None:
    fine = "${X:-" * 8 + "v" + "}" * 8
    assert expand_vars(fine, ENV, "f:1: k") == "v"
    for depth in (9, 1000, 100_000):
        text = "${X:-" * depth + "v" + "}" * depth
        with pytest.raises(UsageError, match=r"^f:1: k: '\$\{\.\.\.\}' nested deeper than 8"):
            expand_vars(text, ENV, "f:1: k")


def test_nested_defaults_through_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text("go:\n  env:\n    GOPROXY: ${X:-${B:-none}},direct\n    GOSUMDB: ${X:-${Y\n")
    with pytest.raises(UsageError, match=r"^config/dev.yaml:4: go.env.GOSUMDB: unterminated"):
        load(path, "config/dev.yaml", ENV)
    path.write_text("go:\n  env:\n    GOPROXY: ${X:-${B:-none}},direct\n")
    assert load(path, "config/dev.yaml", ENV).data["go"]["env"]["GOPROXY"] == "b,direct"


# -- files that are not UTF-8 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"\xff\xfeg\x00o\x00", 1),  # UTF-16 with its byte-order mark
        (b"go:\n  env:\n    GOPROXY: caf\xe9\n", 3),  # latin-1
        (b"go:\r\n  tags: [dev]\r\n# \x81\r\n", 3),  # CRLF lines
        (b"go:\n  tags: [dev]\n\n\n# last line, no newline \xc3", 5),  # a cut UTF-8 sequence
    ],
)
def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path, content: bytes, line: int) -> None:
    path = tmp_path / "dev.yaml"
    path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        load(path, "config/dev.yaml", {})
    assert str(err.value).startswith(f"config/dev.yaml:{line}: not UTF-8 text (a byte 0x")
    assert "\n" not in str(err.value)


# -- numbers ---------------------------------------------------------------------------


def number_keys(section: Section = SPEC, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of the schema that takes a number."""
    found = []
    for name, sub in section.fields.items():
        if isinstance(sub, Section):
            found += number_keys(sub, (*prefix, name))
        elif isinstance(sub, Value) and "number" in sub.kind:
            found.append((*prefix, name))
    return found


def settings_with(tmp_path: Path, yaml_text: str) -> Settings:
    """The dev env's settings of a project at tmp_path (messages name config/dev.yaml: the
    test runs there, as inv runs at the project root)."""
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "dev.yaml").write_text(yaml_text)
    return load_settings(tmp_path, "dev", {})


def nested_yaml(key: tuple[str, ...], value: str) -> str:
    lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(key[:-1])]
    return "\n".join([*lines, f"{'  ' * (len(key) - 1)}{key[-1]}: {value}"]) + "\n"


def test_the_schema_has_number_keys() -> None:
    assert {("sdk", "timeout"), ("bench", "alpha"), ("scheduler", "cpus")} <= set(number_keys())


@pytest.mark.parametrize("key", number_keys(), ids=".".join)
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".Inf", ".NaN"])
def test_infinite_or_not_a_number_is_refused_at_its_line(
    tmp_path: Path, key: tuple[str, ...], value: str
) -> None:
    with pytest.raises(UsageError) as err:
        settings_with(tmp_path, nested_yaml(key, value))
    message = str(err.value)
    assert message.startswith(f"config/dev.yaml:{len(key)}: {'.'.join(key)}: expected a"), message


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        (("sdk", "timeout"), "86401", "must be above 0 and at most 86400 (a day)"),
        (("sdk", "timeout"), "1.0e+10", "must be above 0 and at most 86400"),
        (("sdk", "timeout"), "1.7e+308", "must be above 0 and at most 86400"),
        (("sdk", "timeout"), "0", "must be above 0"),
        (("scheduler", "memory_limit_factor"), "1001", "must be 1 to 1000"),
        (("scheduler", "memory_limit_factor"), "1.0e+308", "must be 1 to 1000"),
        (("scheduler", "memory_limit_factor"), "0.5", "must be 1 to 1000"),
    ],
)
def test_numbers_past_what_can_be_used_are_refused(
    tmp_path: Path, key: tuple[str, ...], value: str, said: str
) -> None:
    with pytest.raises(UsageError) as err:
        settings_with(tmp_path, nested_yaml(key, value))
    assert str(err.value).startswith(f"config/dev.yaml:{len(key)}: {'.'.join(key)}: {said}")


def test_the_largest_accepted_values_work(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path, "sdk:\n  timeout: 86400\nscheduler:\n  memory_limit_factor: 1000\n"
    )
    with socket.socket() as sock:
        sock.settimeout(settings.section("sdk")["timeout"])  # what a download does
    factor = settings.section("scheduler")["memory_limit_factor"]
    assert int(2**60 * factor) > 0  # the largest estimate history keeps, times the factor


# -- -ldflags words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "said"),
    [
        ('"-X main.a=it\'s \\"b\\""', "holds both ' and \" and cannot be passed to -ldflags"),
        ('"-X main.a=line\\nbreak"', "a line break or NUL byte cannot go into -ldflags"),
        ('"-X main.a=nul\\0byte"', "a line break or NUL byte cannot go into -ldflags"),
    ],
)
def test_an_ldflags_word_go_cannot_quote_is_refused_at_its_line(
    tmp_path: Path, word: str, said: str
) -> None:
    with pytest.raises(UsageError) as err:
        settings_with(tmp_path, f"build:\n  ldflags:\n    - -s\n    - {word}\n")
    message = str(err.value)
    assert message.startswith(f"config/dev.yaml:4: build.ldflags[1]: {said}"), message
    assert "\n" not in message


@pytest.mark.parametrize("word", ["-X 'main.a=b c'", "-X main.a=it's", '-X "a b"', "-w", ""])
def test_ldflags_words_go_can_quote_are_taken(tmp_path: Path, word: str) -> None:
    quoted = "'" + word.replace("'", "''") + "'"  # YAML's single-quoted scalar
    settings = settings_with(tmp_path, f"build:\n  ldflags: [{quoted}]\n")
    assert settings.section("build")["ldflags"] == [word]


def test_run_variables_are_each_checked() -> None:
    assert run_variable_problems({}) == []
    assert run_variable_problems({"GOTASKS_JOBS": "4", "GOTASKS_OUTPUT": "prefixed"}) == []
    assert run_variable_problems({"GOTASKS_JOBS": "0"}) == []  # no cap, as scheduler.jobs: 0
    problems = run_variable_problems({"GOTASKS_JOBS": "-1", "GOTASKS_OUTPUT": "json"})
    assert problems == [
        "GOTASKS_JOBS: must be 0 (no cap) or more, got -1",
        "GOTASKS_OUTPUT: expected group or prefixed, got 'json'",
    ]
