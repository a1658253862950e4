"""`inv doctor`'s findings about what reaches go's network: each env's proxy settings
(private paths kept off public proxies, placeholders nothing answers), passwords written
into the config, and GO* variables Go does not know."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gotasks.core.errors import Failure

if TYPE_CHECKING:
    from gotasks.go.toolchain import Toolchain
    from gotasks.settings import EnvLoader

Finding = tuple[str, str]  # ("ok" | "warn" | "fail", text)


def read_lines(path: Path) -> list[str]:
    """A file's lines; one that cannot be read has none (the config check names it)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def proxy_findings(
    root: Path,
    environ: dict[str, str],
    toolchain: Toolchain | None,
    loader: EnvLoader | None = None,
) -> Iterator[Finding]:
    """Each env's GOPROXY/GOPRIVATE settings, placeholders, passwords written into the
    config, and GO* names set that Go does not know (each env's settings got by `loader`,
    as load_settings takes it)."""
    from gotasks.envs import config_dir, known_envs
    from gotasks.go.goenvfile import default_go_env_file, go_env_file_values
    from gotasks.go.proxycheck import placeholder_proxies, unknown_names
    from gotasks.go.proxycheck import proxy_findings as env_findings
    from gotasks.go.redact import has_credentials
    from gotasks.settings import load_settings

    clean = True
    try:
        envs = known_envs(root)
    except Failure:
        envs = []  # a file whose name is no env's: already reported by the config check
    for name in envs:
        try:
            settings = load_settings(root, name, environ, loader)
        except Failure:
            continue  # already reported by the config check
        for text in env_findings(name, settings.go_env):
            clean = False
            yield "warn", text
        for proxy in placeholder_proxies(settings.go_env.get("GOPROXY", "")):
            clean = False
            yield "warn", _placeholder_finding(settings.files, name, proxy)
    for path in sorted(config_dir(root).glob("*.yaml")):
        for number, line in enumerate(read_lines(path), 1):
            text = line.split("#", 1)[0]
            if "${" not in text and has_credentials(text):
                clean = False
                yield (
                    "warn",
                    (
                        f"{path.relative_to(root)}:{number}: a password written into the config;"
                        " use ${VAR} and keep it in the environment"
                    ),
                )
    known = _go_env_names(toolchain)
    names = set(os.environ) | set(go_env_file_values(default_go_env_file(os.environ, sys.platform)))
    for name, close in unknown_names(names, known):
        clean = False
        hint = f" (did you mean {close}?)" if close else ""
        yield "warn", f"{name} is set but Go does not know it: it has no effect{hint}"
    if clean:
        yield "ok", "proxy settings: private paths stay off public proxies; no unknown GO* names"


def _placeholder_finding(files: tuple[str, ...], env: str, proxy: str) -> str:
    """What to do about a placeholder proxy: set the variable that the config line names
    (`${GOTASKS_COMPANY_PROXY:-https://goproxy.corp.example}`), or edit that line."""
    from gotasks.go.redact import redact

    text = f"env {env}: GOPROXY is the placeholder {redact(proxy)}, which nothing answers"
    for label in reversed(files):  # the env's own file first; labels are as shown elsewhere
        for number, line in enumerate(read_lines(Path(label)), 1):
            variable = re.search(r"\$\{(\w+):-[^}]*" + re.escape(proxy) + "[^}]*}", line)
            if variable:
                name = variable.group(1)
                return (
                    f"{text}: set {name} to your proxy (`export {name}=https://...` in your"
                    f" shell profile and CI settings), or edit {label}:{number}"
                )
            if proxy in line.split("#", 1)[0]:
                return f"{text}: put your proxy in {label}:{number}"
    return text


def _go_env_names(toolchain: Toolchain | None) -> set[str]:
    if toolchain is None:
        return set()
    try:
        out = subprocess.run(
            [str(toolchain.go), "env", "-json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            cwd=tempfile.gettempdir(),
            env={**os.environ, "GOTOOLCHAIN": "local"},
        )
        return set(json.loads(out.stdout)) if out.returncode == 0 else set()
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return set()
