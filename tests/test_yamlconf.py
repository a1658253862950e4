"""The config loader (gotasks.core.yamlconf) on YAML that PyYAML cannot build or should not:
one line naming file:line for each, never a traceback, a hang or gigabytes of memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from gotasks.core.errors import UsageError
from gotasks.core.yamlconf import MAX_ALIASED_NODES, MAX_DEPTH, load

LABEL = "config/dev.yaml"


def load_text(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "dev.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path, LABEL, environ={}).data


def laughs(levels: int, width: int = 9) -> str:
    """The billion laughs: each level an anchored list of `width` aliases of the one before."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def nest(depth: int, inner: str) -> str:
    return "[" * depth + inner + "]" * depth


BAD = {
    # What YAML 1.1 would build and cannot: an impossible date is handled below (a string).
    "hex-without-digits": ("docker:\n  image: 0x_\n", 2, "'0x_'"),
    "float-tag-on-text": ("bench:\n  alpha: !!float abc\n", 2, "!!float"),
    "int-tag-on-text": ("bench:\n  count: !!int many\n", 2, "!!int"),
    "bool-tag-on-text": ("test:\n  race: !!bool maybe\n", 2, "!!bool"),
    # Tags that are not plain data, whether PyYAML knows them or not.
    "application-tag": ("docker:\n  image: !custom x\n", 2, "!custom"),
    "python-name": ("docker:\n  image: !!python/name:os.system\n", 2, "!!python/name:os.system"),
    "python-object": ("a: !!python/object/apply:os.system [id]\n", 1, "!!python/object/apply"),
    "binary": ("a: !!binary aGVsbG8=\n", 1, "!!binary"),
    "timestamp-tag": ("a: !!timestamp 2024-02-30\n", 1, "!!timestamp"),
    "set": ("a: !!set {x, y}\n", 1, "!!set"),
    "omap": ("a:\n  - 1\n  - !!omap [{x: 1}]\n", 3, "!!omap"),
    "map-tag-on-a-scalar": ("a: !!map x\n", 1, "!!map"),
    "tagged-key": ("!!binary aGk=: 1\n", 1, "!!binary"),
    # Aliases that hold themselves, or expand past any real config.
    "recursive-list": ("go:\n  tags: &a [*a]\n", 2, "recursive alias"),
    "recursive-mapping": ("x: 1\ngo: &g\n  env: *g\n", 2, "recursive alias"),
    "billion-laughs": (laughs(9), 1, f"more than {MAX_ALIASED_NODES}"),
    # Nesting: PyYAML composes recursively and would raise RecursionError near 500 levels.
    "nested-lists": ("a: " + "[" * 900 + "]" * 900 + "\n", 1, f"deeper than {MAX_DEPTH}"),
    "nested-mappings": (
        "a: " + "{b: " * 900 + "1" + "}" * 900 + "\n",
        1,
        f"deeper than {MAX_DEPTH}",
    ),
    "nested-block": (
        "".join(" " * i + f"k{i}:\n" for i in range(300)),
        100,
        f"deeper than {MAX_DEPTH}",
    ),
    "nested-through-aliases": (
        f"a: &a {nest(40, 'x')}\nb: &b {nest(40, '*a')}\nc: {nest(40, '*b')}\n",
        1,
        f"deeper than {MAX_DEPTH}",
    ),
}


@pytest.mark.parametrize(("text", "line", "needle"), BAD.values(), ids=BAD.keys())
def test_what_cannot_be_plain_data_is_one_line_with_file_and_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    with pytest.raises(UsageError) as caught:
        load_text(tmp_path, text)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in message, message
    assert message.startswith(f"{LABEL}:{line}: "), message
    assert needle in message, message


@pytest.mark.parametrize("value", ["2024-02-30", "2024-02-29", "2001-12-14t21:59:43.10-05:00"])
def test_dates_are_the_strings_written(tmp_path: Path, value: str) -> None:
    # YAML 1.2 plain data has no timestamps; an image tag like 2024-02-30 means that text.
    assert load_text(tmp_path, f"docker:\n  image: {value}\n") == {"docker": {"image": value}}


def test_plain_data_and_modest_aliases_still_load(tmp_path: Path) -> None:
    text = (
        "a: 1\nb: [x, 2.5, true, null, off, 0x1f]\nc: {d: e}\n"
        "q: &q {k: [1, 2]}\nr: *q\nt: !!str 5\nu: !!int '7'\nm: <<\nv: =\n"
        + laughs(3)  # 81 values through aliases: far below the bound
    )
    data = load_text(tmp_path, text)
    assert data["b"] == ["x", 2.5, True, None, False, 31]
    assert data["r"] == {"k": [1, 2]} and data["r"] is not data["q"]
    assert (data["t"], data["u"], data["m"], data["v"]) == ("5", 7, "<<", "=")
    assert data["l2"] == [[["lol"] * 9] * 9] * 9


def test_nesting_up_to_the_bound_loads(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2  # the document's mapping and `a` take a level each
    assert load_text(tmp_path, "a: " + "[" * depth + "]" * depth + "\n")["a"]
