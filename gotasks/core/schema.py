"""A small declarative schema: checks types, fills defaults, names file:line and key on error."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gotasks.core.errors import UsageError
from gotasks.core.origins import Document, Key, dotted

Check = Callable[[Any], str | None]  # returns a complaint, or None when the value is fine


@dataclass(frozen=True)
class Value:
    """A leaf: a type check (and optional further check) plus the default."""

    kind: str  # "string", "integer", "number", "boolean", "list of strings", ...
    default: Any
    check: Check | None = None
    nullable: bool = False
    coerce: Callable[[Any], Any] | None = None  # applied before the type check


@dataclass(frozen=True)
class Section:
    fields: dict[str, Value | Section | Items]


@dataclass(frozen=True)
class Items:
    """A list whose items are sections (e.g. tag rules)."""

    item: Section
    default: list[Any] = field(default_factory=list)
    required: tuple[str, ...] = ()


def _number(value: Any) -> bool:
    # YAML's .inf and .nan are floats, but no setting means either.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_ITEM_KINDS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _number,
    "boolean": lambda v: isinstance(v, bool),
    # a count, a size or a share: 2, 1.5, "6G", "67%" (parsed where it is used)
    "number or string": lambda v: _number(v) or isinstance(v, str),
}


def _split_kind(kind: str) -> tuple[str | None, str]:
    """ "list of strings" -> ("list", "string"); "mapping of names to integers" -> ..."""
    for container, prefix in (("list", "list of "), ("mapping", "mapping of names to ")):
        if kind.startswith(prefix):
            return container, kind.removeprefix(prefix).removesuffix("s")
    return None, kind


def validate(spec: Section, doc: Document) -> dict[str, Any]:
    """The document's data checked against `spec`, with defaults for what it leaves out."""
    return _section(spec, doc.data, (), doc)


def _section(spec: Section, data: Any, key: Key, doc: Document) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{doc.where(key)}: {dotted(key)}: expected a mapping, got {_show(data)}")
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
    if spec.coerce is not None:
        data = spec.coerce(data)
    container, item_kind = _split_kind(spec.kind)
    wanted = {"list": list, "mapping": dict}.get(container or "")
    if wanted is not None and not isinstance(data, wanted):
        raise UsageError(_wrong_type(doc, key, spec.kind, data))
    if isinstance(data, list):
        items: list[tuple[Key, Any]] = [((*key, i), item) for i, item in enumerate(data)]
    elif isinstance(data, dict):
        items = [((*key, name), item) for name, item in data.items()]
    else:
        items = [(key, data)]
    for item_key, item in items:
        if not _ITEM_KINDS[item_kind](item):
            raise UsageError(_wrong_type(doc, item_key, item_kind, item))
        complaint = spec.check(item) if spec.check is not None else None
        if complaint:
            raise UsageError(f"{doc.where(item_key)}: {dotted(item_key)}: {complaint}")
    return data


def _wrong_type(doc: Document, key: Key, kind: str, data: Any) -> str:
    hint = ""
    if isinstance(data, bool) and "string" in kind:
        hint = " (YAML reads off/on/no/yes/false/true as booleans: quote the value)"
    return f"{doc.where(key)}: {dotted(key)}: expected {_article(kind)}, got {_show(data)}{hint}"


def _unknown(key: Key, name: str, spec: Section) -> str:
    full = dotted((*key, name))
    close = difflib.get_close_matches(name, list(spec.fields), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.upper(), list(spec.fields), n=1, cutoff=0.6)
    hint = f" (did you mean {dotted((*key, close[0]))!r}?)" if close else ""
    known = ", ".join(spec.fields)
    return f"unknown key {full!r}{hint}; known keys here: {known}"


def _article(kind: str) -> str:
    kind = "finite number" if kind == "number" else kind
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
