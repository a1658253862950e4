"""What `docker build` gets from an env's settings: build args, labels, a tag, and the
secrets (a proxy URL with a password, a .netrc) that must never become build args."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from gotasks.container.engine import Engine
from gotasks.container.gomodule import ModuleSources
from gotasks.core.errors import UsageError
from gotasks.go.buildinfo import VcsInfo
from gotasks.go.environment import GoEnvironment
from gotasks.go.proxycheck import PUBLIC_PROXIES
from gotasks.go.redact import has_credentials, strip_credentials

# Go settings that may carry a URL, hence a password: sent as secrets when they do.
SECRET_CAPABLE = ("GOPROXY", "GOSUMDB")
PASSED = ("GOPRIVATE", "GONOPROXY", "GONOSUMDB")
_TAGS_FLAG = re.compile(r"^--?tags(=|$)")
_MOD_FLAG = re.compile(r"^--?mod(=|$)")
# Build arg names that say what they hold: a build arg stays in the image's history.
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|CREDENTIAL", re.IGNORECASE)


@dataclass(frozen=True)
class Secret:
    id: str
    value: str | None = None  # written to a private temp file for the build's length
    source: Path | None = None  # an existing file, passed as it is (.netrc)


@dataclass(frozen=True)
class BuildPlan:
    tag: str
    dockerfile: Path
    context: Path
    args: dict[str, str]
    labels: dict[str, str]
    secrets: tuple[Secret, ...]
    platforms: tuple[str, ...]
    # Named build contexts (--build-context NAME=DIR): a setup bundle's module proxy.
    contexts: dict[str, Path] = field(default_factory=dict)

    @property
    def multi_platform(self) -> bool:
        return len(self.platforms) > 1

    def argv(self, engine: Engine, secret_files: Mapping[str, Path]) -> list[str]:
        # podman and buildah put the images of several platforms in a manifest list, which
        # --tag cannot name.
        name = "--manifest" if self.multi_platform and engine.name != "docker" else "--tag"
        argv = [*engine.build, "--file", str(self.dockerfile), name, self.tag]
        for name, value in self.args.items():
            argv += ["--build-arg", f"{name}={value}"]
        for name, value in self.labels.items():
            argv += ["--label", f"{name}={value}"]
        for secret in self.secrets:
            argv += ["--secret", f"id={secret.id},src={secret_files[secret.id]}"]
        for name, folder in self.contexts.items():
            argv += ["--build-context", f"{name}={folder}"]
        if self.platforms:
            argv += ["--platform", ",".join(self.platforms)]
        argv.append(str(self.context))
        return argv

    def shown(self, engine: Engine) -> str:
        """The command line as --dry-run prints it (secret files by placeholder)."""
        files = {s.id: Path(f"<{s.id} secret file>") for s in self.secrets}
        return shlex.join(self.argv(engine, files))


def image_tag(name: str, version: str) -> str:
    """name:version with what a registry accepts (tags: [A-Za-z0-9_.-], at most 128)."""
    repo = re.sub(r"[^a-z0-9._/-]+", "-", name.lower()).strip("-._/") or "app"
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", version).lstrip(".-")[:128] or "latest"
    return f"{repo}:{tag}"


def netrc_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("NETRC") or os.path.expanduser("~/.netrc"))


def private_proxies(goproxy: str) -> list[str]:
    """GOPROXY entries that are not a public proxy (nor direct, off or a file:// folder): a
    company proxy, which may ask for the credentials in the user's .netrc."""
    private = []
    for entry in re.split(r"[,|]", goproxy):
        entry = entry.strip()
        if entry in ("", "direct", "off") or entry.startswith("file://"):
            continue
        # Go takes an entry without a scheme as https.
        host = urlsplit(entry if "://" in entry else f"https://{entry}").hostname or ""
        if host not in PUBLIC_PROXIES:
            private.append(strip_credentials(entry))
    return private


def check_build_args(
    build_args: Mapping[str, object], where: Callable[[tuple[str | int, ...]], str]
) -> None:
    """docker.build_args that would put a secret in the image's history: refused, by the
    config's file:line and the name, never the value."""
    for name, value in build_args.items():
        why = ""
        if has_credentials(str(value)):
            why = "its value has credentials in a URL"
        elif _SECRET_NAME.search(str(name)):
            why = "its name says it is a secret"
        if why:
            raise UsageError(
                f"{where(('docker', 'build_args', name))}: docker.build_args.{name}: {why}, and"
                " a build arg stays in the image's history for anyone who pulls it; the"
                " Dockerfile gets credentials only as BuildKit secrets (GOPROXY, GOSUMDB, .netrc)"
            )


def plan_build(
    *,
    root: Path,
    dockerfile: Path,
    module_rel: str,
    package_rel: str,
    binary: str,
    go_version: str,
    environment: GoEnvironment,
    cgo: bool,
    ldflags: str,
    vcs: VcsInfo | None,
    docker: Mapping[str, object],
    environ: Mapping[str, str],
    sources: ModuleSources,
    platforms: tuple[str, ...],
) -> BuildPlan:
    variables = environment.variables
    secrets: list[Secret] = []
    args: dict[str, str] = {
        "GO_VERSION": go_version.removeprefix("go"),
        "GO_IMAGE_VARIANT": str(docker["variant"]),
        "RUNTIME_IMAGE": str(docker["runtime"]),
        "MODULE": module_rel,
        "PACKAGE": package_rel,
    }
    for name in SECRET_CAPABLE:
        value = variables.get(name, "")
        if has_credentials(value):
            secrets.append(Secret(name.lower(), value=value))
            value = strip_credentials(value)
        args[name] = value
    for name in PASSED:
        args[name] = variables.get(name, "")
    private = any(variables.get(name) for name in PASSED)
    private = private or bool(private_proxies(variables.get("GOPROXY", "")))
    netrc = netrc_path(environ)
    if private and netrc.is_file():
        # Private modules, or a company proxy, are reached with the user's credentials,
        # mounted for the download steps only: never in a layer, never in the image's history.
        secrets.append(Secret("netrc", source=netrc))
    flags = [f for f in variables.get("GOFLAGS", "").split() if not _TAGS_FLAG.match(f)]
    if sources.vendored:
        # go build would use vendor/ by itself, unless a -mod=readonly or -mod=mod in the
        # env's GOFLAGS sends it to the network.
        flags = [f for f in flags if not _MOD_FLAG.match(f)] + ["-mod=vendor"]
    args["GOFLAGS"] = " ".join(flags)
    args["PREFETCH"] = "0" if sources.no_prefetch else "1"
    args["TAGS"] = ",".join(environment.tags)
    args["LDFLAGS"] = ldflags
    args["CGO_ENABLED"] = "1" if cgo else "0"
    version = vcs.version if vcs else "unknown"
    args["VERSION"] = version
    args["COMMIT"] = vcs.commit if vcs else "unknown"
    extra = docker.get("build_args") or {}
    assert isinstance(extra, dict)
    args.update({str(k): str(v) for k, v in extra.items()})
    for name, value in args.items():
        if has_credentials(value):
            # docker.build_args were checked with their file:line (check_build_args): this
            # one comes from elsewhere in the config (build.ldflags, say).
            raise UsageError(
                f"build arg {name}: its value has credentials in a URL, and a build arg stays"
                " in the image's history"
            )
        if "\n" in value or "\0" in value:
            raise UsageError(f"build arg {name}: a line break or NUL byte is not allowed")
    labels = {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": args["COMMIT"],
    }
    if vcs is not None:
        labels["org.opencontainers.image.created"] = vcs.commit_date  # not the clock
    image = str(docker.get("image") or binary)
    return BuildPlan(
        tag=image_tag(image, version),
        dockerfile=dockerfile,
        context=root,
        args=args,
        labels=labels,
        secrets=tuple(secrets),
        platforms=platforms,
    )


# Where the Dockerfile mounts the `goproxy` build context, and the GOPROXY that reads only
# it: no network, and go still checks each module against go.sum.
BUNDLE_MOUNT = "/goproxy"
BUNDLE_GOPROXY = f"file://{BUNDLE_MOUNT},off"


def with_module_proxy(plan: BuildPlan, folder: Path) -> BuildPlan:
    """`plan` with its modules from a module proxy folder (a setup bundle's goproxy/): the
    folder as the `goproxy` build context, GOPROXY pointed at its mount, and no GOPROXY
    secret (which the Dockerfile would put first)."""
    return replace(
        plan,
        args={**plan.args, "GOPROXY": BUNDLE_GOPROXY},
        secrets=tuple(s for s in plan.secrets if s.id != "goproxy"),
        contexts={**plan.contexts, "goproxy": folder},
    )
