"""YAML config files read with the file and line of every value, `${VAR}` expanded, merged."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gotasks.core.errors import UsageError
from gotasks.core.files import read_regular_bytes
from gotasks.core.origins import Document, Key, dotted

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_VAR_DEPTH = 8  # ${A:-${B:-...}}: deeper than this is a mistake, not a fallback chain
# A config is a few hundred values: these bounds are far above any real one and far below
# what a few hundred bytes of nested aliases ("billion laughs") or brackets would cost.
MAX_DEPTH = 100
MAX_ALIASED_NODES = 10_000
_CORE = "tag:yaml.org,2002:"
# Plain data only: no timestamps, sets, binary, Python objects or application tags.
PLAIN_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null"))
_COLLECTION_TAGS: dict[type[yaml.Node], str] = {
    yaml.MappingNode: _CORE + "map",
    yaml.SequenceNode: _CORE + "seq",
}


class PlainLoader(yaml.SafeLoader):
    """SafeLoader that composes at most MAX_DEPTH levels (PyYAML recurses per level) and
    reads what YAML 1.1 would make a timestamp (`image: 2024-02-30`), a `=` or a `<<` as
    the plain string it is in YAML 1.2."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in PLAIN_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Walk:
    """One document's conversion: the nodes on the current path (a node inside itself is a
    recursive alias) and how many nodes aliases have produced so far."""

    def __init__(self, label: str, environ: Mapping[str, str], origins: dict[Key, str]) -> None:
        self.label = label
        self.environ = environ
        self.origins = origins
        self.loader = PlainLoader("")
        self.seen: set[int] = set()
        self.path: set[int] = set()
        self.aliased = 0


def load(path: Path, label: str, environ: Mapping[str, str] | None = None) -> Document:
    """Parse one YAML file; a syntax error or a bad `${...}` is a UsageError naming file:line."""
    environ = os.environ if environ is None else environ
    try:
        raw = read_regular_bytes(path)
    except OSError as error:
        raise UsageError(f"{label}: cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        number = raw.count(b"\n", 0, error.start) + 1
        byte = raw[error.start]
        raise UsageError(
            f"{label}:{number}: not UTF-8 text (a byte 0x{byte:02x}; save it as UTF-8)"
        ) from None
    try:
        node = yaml.compose(text, Loader=PlainLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise UsageError(f"{label}{line}: YAML syntax error: {problem}") from None
    except RecursionError:  # MAX_DEPTH keeps it away; never a traceback if not
        raise UsageError(f"{label}: YAML nested too deeply") from None
    doc = Document()
    if node is None:
        return doc
    if not isinstance(node, yaml.MappingNode):
        raise UsageError(f"{label}:{node.start_mark.line + 1}: expected a mapping of settings")
    data = _convert(node, (), _Walk(label, environ, doc.origins))
    assert isinstance(data, dict)
    doc.data = data
    return doc


def _convert(node: yaml.Node, key: Key, walk: _Walk) -> Any:
    label = walk.label
    where = f"{label}:{node.start_mark.line + 1}"
    walk.origins.setdefault(key, where)
    if id(node) in walk.path:
        raise UsageError(f"{where}: {dotted(key) or 'document'}: recursive alias (holds itself)")
    if id(node) in walk.seen:
        # Every node met again came through an alias: bounded, or a few hundred bytes of
        # nested aliases would expand to billions of values.
        walk.aliased += 1
        if walk.aliased > MAX_ALIASED_NODES:
            raise UsageError(
                f"{where}: {dotted(key)}: aliases expand to more than"
                f" {MAX_ALIASED_NODES} values; refused"
            )
    walk.seen.add(id(node))
    if len(key) > MAX_DEPTH:  # aliases can nest deeper than the text does
        raise UsageError(f"{where}: {dotted(key)}: nested deeper than {MAX_DEPTH} levels")
    _check_tag(node, key, where)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        walk.path.add(id(node))
        try:
            return _convert_collection(node, key, walk, where)
        finally:
            walk.path.discard(id(node))
    # Scalars get YAML's own typing (ints, bools, nulls); the node tree keeps the lines.
    try:
        value = walk.loader.construct_object(node)
    except Exception:  # whatever PyYAML raises (ValueError, KeyError...): one line
        raise UsageError(
            f"{where}: {dotted(key)}: {node.value!r} is not a valid {_short(node.tag)};"
            " quote it if it is meant as a string"
        ) from None
    if isinstance(value, str) and node.tag == _CORE + "str":
        return expand_vars(value, walk.environ, f"{where}: {dotted(key)}")
    return value


def _convert_collection(
    node: yaml.MappingNode | yaml.SequenceNode, key: Key, walk: _Walk, where: str
) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*key, index), walk) for index, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        name = key_node.value
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(name, str):
            raise UsageError(f"{where}: keys must be plain names")
        line = key_node.start_mark.line + 1
        _check_tag(key_node, (*key, name), f"{walk.label}:{line}")
        if name in result:
            raise UsageError(f"{walk.label}:{line}: duplicate key {dotted((*key, name))!r}")
        walk.origins[(*key, name)] = f"{walk.label}:{line}"
        result[name] = _convert(value_node, (*key, name), walk)
    return result


def _check_tag(node: yaml.Node, key: Key, where: str) -> None:
    """Only the tags of plain data: `!!python/name:`, `!!binary`, `!custom`... are refused."""
    allowed = _COLLECTION_TAGS.get(type(node))
    if node.tag == allowed or (allowed is None and node.tag in PLAIN_TAGS):
        return
    what = f"{dotted(key)}: " if key else ""
    raise UsageError(
        f"{where}: {what}tag {_short(node.tag)} is not plain data"
        " (only strings, numbers, booleans, null, lists and mappings)"
    )


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


def expand_vars(text: str, environ: Mapping[str, str], where: str) -> str:
    """`${VAR}` and `$VAR` (empty when unset), `${VAR:-default}` (default when unset or
    empty; the default may itself hold `${...}`, `$VAR` and `$$`), `$$` (a literal $)."""
    expanded, _ = _expand(text, 0, environ, where)
    return expanded


def _expand(
    text: str, start: int, environ: Mapping[str, str], where: str, depth: int = 0
) -> tuple[str, int]:
    """`text` from `start` expanded: to its end, or within a default (depth > 0) to the
    `}` that closes it; and the index after what was read."""
    bad = f"{where}: unterminated or invalid '${{...}}' in {text!r}"
    if depth > _MAX_VAR_DEPTH:
        raise UsageError(f"{where}: '${{...}}' nested deeper than {_MAX_VAR_DEPTH} in {text!r}")
    out: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        if char == "}" and depth:
            return "".join(out), index + 1
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            name = _NAME.match(text, index + 2)
            if name is None:
                raise UsageError(bad)
            value = environ.get(name.group(), "")
            index = name.end()
            if text.startswith("}", index):
                out.append(value)
                index += 1
            elif text.startswith(":-", index):
                default, index = _expand(text, index + 2, environ, where, depth + 1)
                out.append(value or default)
            else:
                raise UsageError(bad)
        else:
            name = _NAME.match(text, index + 1)
            out.append(environ.get(name.group(), "") if name else "$")
            index = name.end() if name else index + 1
    if depth:
        raise UsageError(bad)  # a default never closed
    return "".join(out), index


def merge(base: Document, over: Document) -> Document:
    """`over` on top of `base`: mappings merge key by key, lists and scalars replace."""
    origins = dict(base.origins)

    def walk(a: Any, b: Any, key: Key) -> Any:
        if isinstance(a, dict) and b is None:
            return a  # `build:` with every line below it commented out changes nothing
        if isinstance(a, dict) and isinstance(b, dict):
            merged = dict(a)
            for name, value in b.items():
                merged[name] = walk(a.get(name), value, (*key, name))
            return merged
        for origin_key in [k for k in origins if k[: len(key)] == key and len(k) > len(key)]:
            del origins[origin_key]
        origins.update({k: v for k, v in over.origins.items() if k[: len(key)] == key})
        return b

    data = walk(base.data, over.data, ())
    for k, v in over.origins.items():
        origins.setdefault(k, v)
    return Document(data=data, origins=origins)
