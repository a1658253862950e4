"""A small declarative schema: checks types, fills defaults, names file:line and key on error."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tasks.engine.errors import UsageError
from tasks.engine.yamlconf import Document, Key, dotted

Check = Callable[[Any], str | None]  # returns a complaint, or None when the value is fine


@dataclass(frozen=True)
class Value:
    """A leaf: a type check (and optional further check) plus the default."""

    kind: str  # "string", "integer", "number", "boolean", "list of strings", ...
    default: Any
    check: Check | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Section:
    fields: dict[str, Value | Section | Items]
    closed: bool = True  # unknown keys are errors


@dataclass(frozen=True)
class Items:
    """A list whose items are sections (e.g. tag rules)."""

    item: Section
    default: list[Any] = field(default_factory=list)
    required: tuple[str, ...] = ()


_PYTHON_KINDS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "list of strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "mapping of names to integers": lambda v: (
        isinstance(v, dict)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in v.values())
    ),
    "mapping of names to strings": lambda v: (
        isinstance(v, dict) and all(isinstance(i, str) for i in v.values())
    ),
}


def validate(spec: Section, doc: Document) -> dict[str, Any]:
    """The document's data checked against `spec`, with defaults for what it leaves out."""
    return _section(spec, doc.data, (), doc)


def _section(spec: Section, data: Any, key: Key, doc: Document) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{doc.where(key)}: {dotted(key)}: expected a mapping, got {_show(data)}")
    if spec.closed:
        for name in data:
            if name not in spec.fields:
                raise UsageError(f"{doc.where((*key, name))}: {_unknown(key, name, spec)}")
    out: dict[str, Any] = {}
    for name, sub in spec.fields.items():
        sub_key = (*key, name)
        if isinstance(sub, Section):
            out[name] = _section(sub, data.get(name), sub_key, doc)
        elif isinstance(sub, Items):
            out[name] = _items(sub, data.get(name, sub.default), sub_key, doc)
        else:
            out[name] = _value(sub, data.get(name, sub.default), sub_key, doc)
    if not spec.closed:
        out.update({k: v for k, v in data.items() if k not in spec.fields})
    return out


def _items(spec: Items, data: Any, key: Key, doc: Document) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise UsageError(f"{doc.where(key)}: {dotted(key)}: expected a list, got {_show(data)}")
    items = []
    for index, item in enumerate(data):
        item_key = (*key, index)
        checked = _section(spec.item, item, item_key, doc)
        for name in spec.required:
            if not isinstance(item, dict) or name not in item:
                raise UsageError(f"{doc.where(item_key)}: {dotted(item_key)}: missing {name!r}")
        items.append(checked)
    return items


def _value(spec: Value, data: Any, key: Key, doc: Document) -> Any:
    if data is None and spec.nullable:
        return None
    if not _PYTHON_KINDS[spec.kind](data):
        hint = ""
        if isinstance(data, bool) and "string" in spec.kind:
            hint = " (YAML reads off/on/no/yes/false/true as booleans: quote the value)"
        raise UsageError(
            f"{doc.where(key)}: {dotted(key)}: expected {_article(spec.kind)},"
            f" got {_show(data)}{hint}"
        )
    if spec.check is not None:
        for index, item in enumerate(data) if isinstance(data, list) else [(None, data)]:
            complaint = spec.check(item)
            if complaint:
                item_key = key if index is None else (*key, index)
                raise UsageError(f"{doc.where(item_key)}: {dotted(item_key)}: {complaint}")
    if isinstance(data, dict) and spec.check is not None:
        for name in data:
            complaint = spec.check(name)
            if complaint:
                raise UsageError(f"{doc.where((*key, name))}: {dotted((*key, name))}: {complaint}")
    return data


def _unknown(key: Key, name: str, spec: Section) -> str:
    full = dotted((*key, name))
    close = difflib.get_close_matches(name, list(spec.fields), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.upper(), list(spec.fields), n=1, cutoff=0.6)
    hint = f" (did you mean {dotted((*key, close[0]))!r}?)" if close else ""
    known = ", ".join(spec.fields)
    return f"unknown key {full!r}{hint}; known keys here: {known}"


def _article(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}".replace("str ", "string ")


def matches(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        if isinstance(value, str) and compiled.fullmatch(value):
            return None
        return f"{value!r} is not {what}"

    return check
