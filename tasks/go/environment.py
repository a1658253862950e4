"""The Go environment of a run: proxy settings and build tags, as go itself will see them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from tasks.engine.errors import UsageError
from tasks.go.toolchain import Toolchain
from tasks.settings import Settings

_TAGS_FLAG = re.compile(r"^--?tags=(.*)$")
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")


@dataclass(frozen=True)
class GoEnvironment:
    """What every Go subprocess of a run gets: the settings' Go variables, tags in GOFLAGS."""

    env_name: str
    variables: dict[str, str]
    tags: tuple[str, ...]

    def export_lines(self, reveal: bool = False) -> list[str]:
        lines = [f"# gotasks env: {self.env_name}; build tags: {','.join(self.tags) or '(none)'}"]
        for name, value in self.variables.items():
            shown = value if reveal else redact(value)
            lines.append(f"export {name}={shlex.quote(shown)}")
        lines.append(f"export GOTASKS_ENV={shlex.quote(self.env_name)}")
        lines.append(f"export GOTASKS_TAGS={shlex.quote(','.join(self.tags))}")
        return lines


def compute_tags(settings: Settings, toolchain: Toolchain) -> list[str]:
    tags = list(settings.tags)
    for rule in settings.tag_rules:
        if rule.rule.matches(toolchain.version):
            tags.extend(rule.tags)
    return list(dict.fromkeys(tags))


def go_environment(settings: Settings, toolchain: Toolchain) -> GoEnvironment:
    """Tags reach go through GOFLAGS (-tags=...), so `go env`, `go build` and gopls agree."""
    variables = dict(settings.go_env)
    flags: list[str] = []
    flag_tags: list[str] = []
    for flag in variables["GOFLAGS"].split():
        match = _TAGS_FLAG.match(flag)
        if match:
            flag_tags.extend(t for t in match.group(1).split(",") if t)
        else:
            flags.append(flag)
    tags = list(dict.fromkeys([*compute_tags(settings, toolchain), *flag_tags]))
    if tags:
        flags.append("-tags=" + ",".join(tags))
    variables["GOFLAGS"] = " ".join(flags)
    for name, value in variables.items():
        if "\n" in value or "\0" in value:
            raise UsageError(f"go.env.{name}: a line break or NUL byte is not allowed in {value!r}")
    return GoEnvironment(env_name=settings.env, variables=variables, tags=tuple(tags))


def redact(text: str) -> str:
    """https://user:secret@host -> https://user:***@host, wherever URLs appear in `text`."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
