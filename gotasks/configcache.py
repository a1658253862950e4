"""Each env's settings remembered between runs (.gotasks/cache/settings-<env>.json), so
that a run whose config files did not change neither parses their YAML nor validates it.

Never a stale answer: an entry holds under a key of everything loading reads besides the
variables (the bytes of base.yaml and <env>.yaml and whether each is a link, the project
root and the working folder the file names are relative to, the code that validates, the
PyYAML that parses), and it lists every variable the loading read, with a digest of its
value: `${A}`, `$A`, a fallback's `${B}` read only when A is empty, and a `$` that YAML's
own escapes made (`"\\x24{A}"`) alike. A variable with another value now, a file changed by
one byte, a damaged entry or any error is a miss: the files are loaded and validated afresh.
The configured module folders are checked on every run, hit or miss (settings.build_settings).

Never a credential on disk: settings holding a URL with a password or a token (a GOPROXY
with one, from the files or a variable) are not remembered, and the variables' values are
kept only as digests.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gotasks.core.files import NotRegularFile, read_regular_bytes
from gotasks.envs import config_dir
from gotasks.go.redact import has_credentials
from gotasks.lookups import digest, file_digest, remembered, stamp
from gotasks.settings import EnvLoader, LoadEnv, Settings, build_settings

# The code that decides what an env's settings are: a new gotasks loads afresh.
_CONFIG_CODE = (
    "settings.py",
    "configspec.py",
    "envs.py",
    "configcache.py",
    "core/schema.py",
    "core/yamlconf.py",
    "core/origins.py",
    "go/version.py",
    "go/sdk/releases.py",
    "go/sdk/platform.py",
    "go/goquote.py",
)


@functools.cache
def _code() -> str:
    package = Path(__file__).resolve().parent
    return file_digest(package / rel for rel in _CONFIG_CODE)


@functools.cache
def _parser() -> list[Any]:
    """Which PyYAML parses the files (where it is and its stamp: an upgrade changes them),
    found without importing it."""
    spec = importlib.util.find_spec("yaml")
    origin = spec.origin if spec is not None else None
    return [origin, stamp(Path(origin)) if origin else None, list(sys.version_info[:3])]


def config_key(root: Path, env: str) -> str:
    """What an env's settings depend on besides variables: its files' bytes (base.yaml and
    <env>.yaml, and whether each is a link), the project root (module folders are relative
    to it), the working folder (the file names in messages are relative to it), the code
    that validates and the parser."""
    folder = config_dir(root)
    files: list[tuple[str, bool, str | None]] = []
    for name in ("base", env):
        path = folder / f"{name}.yaml"
        try:
            # Not a plain read: a FIFO in config/ would hang here before validation could
            # refuse it; what is not a regular file gets a key of its own, never a cached
            # answer of a missing or regular file.
            seen: str | None = read_regular_bytes(path).hex()
        except NotRegularFile as refused:
            seen = f"not a regular file: {refused.strerror}"
        except OSError:
            seen = None
        files.append((name, path.is_symlink(), seen))
    return digest("settings", str(root), os.getcwd(), env, files, _code(), _parser())


class _Recording(Mapping[str, str]):
    """The variables as loading sees them, noting each name it looks up and what it found
    (None: unset). Asked for all of them (iterated), it notes that: such an entry is never
    trusted."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.read: dict[str, str | None] = {}
        self.everything = False

    def __getitem__(self, name: str) -> str:
        value = self.environ.get(name)
        self.read[name] = value
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        self.everything = True
        return iter(self.environ)

    def __len__(self) -> int:
        self.everything = True
        return len(self.environ)


def _fingerprint(value: str | None) -> str | None:
    """What an entry keeps of a variable's value: enough to see it changed, not the value."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def _encode(settings: Settings, recording: _Recording) -> dict[str, Any]:
    if recording.everything:
        raise ValueError("loading read every variable: not remembered")
    return {
        "variables": {name: _fingerprint(value) for name, value in recording.read.items()},
        "files": list(settings.files),
        "raw": settings.raw,
        "origins": [[list(key), where] for key, where in settings.origins.items()],
    }


def _decode(root: Path, env: str, data: dict[str, Any]) -> Settings:
    origins = {tuple(key): str(where) for key, where in data["origins"]}
    files = tuple(str(name) for name in data["files"])
    return build_settings(env, root, files, data["raw"], origins)


def remembering_loader(root: Path, environ: Mapping[str, str]) -> EnvLoader:
    """A settings.EnvLoader that answers from .gotasks/cache/ what an earlier run loaded
    from the same files with the same variables (see the module's doc), else loads."""

    def variables_unchanged(stored: Any) -> bool:
        return all(
            _fingerprint(environ.get(name)) == value for name, value in stored["variables"].items()
        )

    def get(env: str, load: LoadEnv) -> Settings:
        recording = _Recording(environ)
        loaded: list[Settings] = []

        def compute() -> Settings:
            loaded.append(load(recording))
            return loaded[0]

        def encode(settings: Settings) -> dict[str, Any]:
            data = _encode(settings, recording)
            # Only what comes back as it went in is remembered (JSON has no tuples).
            if _decode(root, env, _json_round_trip(data)) != settings:
                raise ValueError("settings that JSON does not carry: not remembered")
            if has_credentials(json.dumps(data)):
                raise ValueError("settings holding a password or token: not remembered")
            return data

        remembered_settings = remembered(
            root,
            f"settings-{env}",
            config_key(root, env),
            compute,
            encode=encode,
            decode=functools.partial(_decode, root, env),
            fresh=variables_unchanged,
        )
        return loaded[0] if loaded else remembered_settings

    return get


def _json_round_trip(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))
