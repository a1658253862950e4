"""The Go environment of a run: proxy settings and build tags, as go itself will see them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gotasks.core.errors import UsageError
from gotasks.core.origins import Key
from gotasks.go.redact import redact
from gotasks.go.shellstate import SHELL_NAME, STATE_VARIABLE, state_export, undo_lines
from gotasks.go.toolchain import Toolchain
from gotasks.go.version import VersionRule

_TAGS_FLAG = re.compile(r"^--?tags=(.*)$")
_NOT_PRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class GoEnvironment:
    """What every Go subprocess of a run gets: the settings' Go variables, tags in GOFLAGS."""

    env_name: str
    variables: dict[str, str]
    tags: tuple[str, ...]

    def export_lines(self, environ: Mapping[str, str], reveal: bool = False) -> list[str]:
        """Shell text for eval: every name a plain word, every value quoted, and nothing but
        printable characters in the comment (a line break there would start a command)."""
        about = f"{self.env_name}; build tags: {','.join(self.tags) or '(none)'}"
        lines = ["# gotasks env: " + _NOT_PRINTABLE.sub("?", about)]
        shown = {k: v if reveal else redact(v) for k, v in self.variables.items()}
        for name, value in shown.items():
            if not SHELL_NAME.fullmatch(name):
                raise UsageError(f"go.env: {name!r} is not a variable name a shell can set")
            lines.append(f"export {name}={shlex.quote(value)}")
        lines.extend(undo_lines(shown, environ))
        if shown != self.variables:
            lines.append("# credentials shown as ***: for eval, use `inv env --reveal`")
        lines.append(f"export GOTASKS_ENV={shlex.quote(self.env_name)}")
        lines.append(f"export GOTASKS_TAGS={shlex.quote(','.join(self.tags))}")
        # Last and explained: a long line of JSON the reader need not decipher.
        lines.append(
            f"# {STATE_VARIABLE}: what this exported and what you had before, so that the"
            " next `inv env` can put it back"
        )
        state = state_export(shown, environ)
        lines.append(f"export {STATE_VARIABLE}={shlex.quote(state)}")
        return lines


def compute_tags(
    tags: Iterable[str],
    tag_rules: Iterable[tuple[VersionRule, Sequence[str]]],
    toolchain: Toolchain,
) -> list[str]:
    """The configured tags, and those of every rule the toolchain's version matches."""
    chosen = list(tags)
    for rule, rule_tags in tag_rules:
        if rule.matches(toolchain.version):
            chosen.extend(rule_tags)
    return list(dict.fromkeys(chosen))


def go_environment(
    env_name: str, go_env: Mapping[str, str], tags: Sequence[str], where: Callable[[Key], str]
) -> GoEnvironment:
    """Tags reach go through GOFLAGS (-tags=...), so `go env`, `go build` and gopls agree.

    Tags the user already has in GOFLAGS are kept (settings are read from the user's own
    environment: see shellstate.user_environ).
    """
    variables = dict(go_env)
    flags: list[str] = []
    flag_tags: list[str] = []
    for flag in variables["GOFLAGS"].split():
        match = _TAGS_FLAG.match(flag)
        if match:
            flag_tags.extend(t for t in match.group(1).split(",") if t)
        else:
            flags.append(flag)
    tags = list(dict.fromkeys([*tags, *flag_tags]))
    if tags:
        flags.append("-tags=" + ",".join(tags))
    variables["GOFLAGS"] = " ".join(flags)
    for name, value in variables.items():
        if "\n" in value or "\0" in value:
            raise UsageError(
                f"{where(('go', 'env', name))}: go.env.{name}: a line break or NUL"
                f" byte is not allowed in {redact(value)!r}"
            )
    return GoEnvironment(env_name=env_name, variables=variables, tags=tuple(tags))
