"""A Dockerfile as far as `inv docker.build` reads it: whose it is, and which build args it
declares (an ARG the Dockerfile lacks is ignored, with a warning the user may never see)."""

from __future__ import annotations

import re

# gotasks' own Dockerfile says so in its header; one without it was written by someone else.
MARKER = "inv docker.build"
_ARG = re.compile(r"ARG\s+(.*)", re.IGNORECASE | re.DOTALL)


def is_gotasks(text: str) -> bool:
    return any(line.lstrip().startswith("#") and MARKER in line for line in text.splitlines())


def declared_args(text: str) -> set[str]:
    """The names of every ARG, in any stage, before the first FROM too.

    Instructions run on over lines ending in a backslash, and comment lines inside them are
    dropped, as BuildKit's parser does (a Dockerfile that changes the escape character with
    `# escape=` is read with the backslash all the same: a missed name only adds a warning).
    """
    names: set[str] = set()
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        match = _ARG.fullmatch(pending + line)
        pending = ""
        if match:
            names.update(word.split("=", 1)[0] for word in match.group(1).split())
    return names
