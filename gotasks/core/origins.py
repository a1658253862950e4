"""Config data with where each value came from ("config/dev.yaml:3"): what error messages
name. Apart from the YAML reader (yamlconf.py), so that settings remembered from an earlier
run can name file:line without loading PyYAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Key = tuple[str | int, ...]


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


def dotted(key: Key) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
