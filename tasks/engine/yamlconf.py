"""YAML config files read with the file and line of every value, `${VAR}` expanded, merged."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tasks.engine.errors import UsageError

Key = tuple[str | int, ...]
_VAR = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{"
)


@dataclass
class Document:
    """Plain data plus where each key and value came from ("config/dev.yaml:3")."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Key, str] = field(default_factory=dict)

    def where(self, key: Key) -> str:
        """The most precise origin known for `key` (falls back to its parents)."""
        for end in range(len(key), -1, -1):
            if key[:end] in self.origins:
                return self.origins[key[:end]]
        return "config"


def load(path: Path, label: str, environ: Mapping[str, str] | None = None) -> Document:
    """Parse one YAML file; a syntax error or a bad `${...}` is a UsageError naming file:line."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{label}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{label}: not UTF-8 text (byte {error.start})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise UsageError(f"{label}{line}: YAML syntax error: {problem}") from None
    doc = Document()
    if node is None:
        return doc
    if not isinstance(node, yaml.MappingNode):
        raise UsageError(f"{label}:{node.start_mark.line + 1}: expected a mapping of settings")
    data = _convert(node, (), label, doc.origins, environ, yaml.SafeLoader(""))
    assert isinstance(data, dict)
    doc.data = data
    return doc


def _convert(
    node: yaml.Node,
    key: Key,
    label: str,
    origins: dict[Key, str],
    environ: Mapping[str, str],
    loader: yaml.SafeLoader,
) -> Any:
    where = f"{label}:{node.start_mark.line + 1}"
    origins.setdefault(key, where)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = key_node.value
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(name, str):
                raise UsageError(f"{where}: keys must be plain names")
            if name in result:
                line = key_node.start_mark.line + 1
                raise UsageError(f"{label}:{line}: duplicate key {dotted((*key, name))!r}")
            origins[(*key, name)] = f"{label}:{key_node.start_mark.line + 1}"
            result[name] = _convert(value_node, (*key, name), label, origins, environ, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*key, index), label, origins, environ, loader)
            for index, item in enumerate(node.value)
        ]
    # Scalars get YAML's own typing (ints, bools, nulls); the node tree keeps the lines.
    value = loader.construct_object(node)
    if isinstance(value, str) and node.tag == "tag:yaml.org,2002:str":
        return expand_vars(value, environ, f"{where}: {dotted(key)}")
    return value


def expand_vars(text: str, environ: Mapping[str, str], where: str) -> str:
    """`${VAR}` and `$VAR` (empty when unset), `${VAR:-default}` (default when unset or
    empty), `$$` (a literal $)."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(3)
        if name is None:
            raise UsageError(f"{where}: unterminated or invalid '${{...}}' in {text!r}")
        value = environ.get(name, "")
        if match.group(2) is not None and not value:
            return match.group(2)
        return value

    return _VAR.sub(substitute, text)


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


def dotted(key: Key) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
