"""`inv docker.build` and `inv docker.context`: images from the same config as `inv build`."""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context

from gotasks.context import module_header, module_of, run_tool, settings_of, toolchain_of
from gotasks.core import console
from gotasks.core.cancel import check_stop
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.units import format_size
from gotasks.engine import task
from gotasks.gobuild import main_packages, relative_package, select_package

if TYPE_CHECKING:
    from gotasks.container.buildplan import BuildPlan
    from gotasks.container.engine import Engine
    from gotasks.go.modules import Module
    from gotasks.settings import Settings

# The runtime images that have no C library: a cgo binary (dynamically linked) cannot start.
_NO_LIBC = re.compile(r"^scratch(:|$)|distroless/static")


@task(
    name="build",
    cpu=2,
    mem="2G",
    pool="build",
    each="module",
    help={
        "module": "only this module (its folder or module path); default: every module",
        "package": "the main package to put in the image, e.g. ./cmd/hello (default: each)",
        "platform": "target platforms, comma-separated, e.g. linux/arm64 (default:"
        " docker.platforms, else the engine's own)",
        "dry_run": "print the build command instead of running it (no engine needed)",
        "from_": "modules from this setup bundle (inv setup --export): no network for them",
    },
)
def docker_build(
    c: Context,
    module: str | None = None,
    package: str | None = None,
    platform: str | None = None,
    dry_run: bool = False,
    from_: str | None = None,
) -> None:
    """Build an image per main package with docker, podman or buildah (BuildKit needed)."""
    from gotasks.container.buildplan import check_build_args, plan_build, with_module_proxy
    from gotasks.container.gomodule import module_sources
    from gotasks.go.artifacts import short_name
    from gotasks.go.buildinfo import read_vcs, version_ldflags

    assert module is not None
    settings = settings_of(c.config)
    mod = module_of(c, module)
    module_header(c, "docker.build", mod)
    docker = settings.section("docker")
    check_build_args(docker["build_args"] or {}, settings.where)
    platforms = _platforms(platform, docker["platforms"])
    dockerfile = settings.root / docker["file"]
    if not dockerfile.is_file():
        raise UsageError(f"docker.build: no {dockerfile} (`inv init` writes one)")
    packages = select_package(main_packages(c, mod), package, mod, "docker.build")
    if not packages:
        console.info("no main package: no image")
        return
    engine = _engine(docker["engine"], dry_run)
    if engine.name == "docker" and len(platforms) > 1:
        refusal = (
            f"docker.build: docker cannot load an image of {len(platforms)} platforms"
            f" ({', '.join(platforms)}) into its image store: build one platform at a time"
            f" (--platform={platforms[0]}), or push them to a registry (the --dry-run command"
            " with --push for --load)"
        )
        if not dry_run:
            raise UsageError(refusal)
        console.warn(f"a real run would be refused: {refusal}")
    if dry_run and not engine.buildkit:
        console.warn(f"a real run would be refused: {_no_buildkit(engine)}")
    build_config = settings.section("build")
    _warn_cgo(settings, build_config["cgo"], docker)
    toolchain, environment = toolchain_of(c.config)
    vcs = read_vcs(mod.dir)
    ldflags = version_ldflags(
        vcs, toolchain.version_text, build_config["version_vars"], build_config["ldflags"]
    )
    sources = module_sources(settings.root, mod.dir)
    proxy = _bundle_proxy(settings, mod, from_) if from_ else None
    checked_args = False
    for import_path in packages:
        plan = plan_build(
            root=settings.root,
            dockerfile=dockerfile,
            module_rel=mod.rel,
            package_rel=relative_package(import_path, mod.path),
            binary=short_name(import_path),
            go_version=toolchain.version_text,
            environment=environment,
            cgo=build_config["cgo"],
            ldflags=ldflags,
            vcs=vcs,
            docker=docker,
            environ=os.environ,
            sources=sources,
            platforms=platforms,
        )
        if proxy is not None:
            plan = with_module_proxy(plan, proxy)
        if not checked_args:
            checked_args = True
            _warn_undeclared(dockerfile, plan)
        if dry_run:
            print(plan.shown(engine))
            continue
        if not engine.buildkit:
            raise UsageError(f"docker.build: {_no_buildkit(engine, plan)}")
        _run_build(c, engine, plan)
        what = f"manifest list {plan.tag}" if plan.multi_platform else f"image {plan.tag}"
        on = f", {', '.join(platforms)}" if platforms else ""
        console.ok(f"{mod.label}: {what} ({engine.name}{on})")


def _bundle_proxy(settings: Settings, mod: Module, bundle: str) -> Path:
    """The module proxy folder of a setup bundle, unpacked and checked against the module's
    go.sum (a file that does not match refuses the bundle, naming it)."""
    # Imported here: only a build from a bundle needs it.
    from gotasks.go.bundleunpack import unpack
    from gotasks.go.gosum import read_sums, where_of
    from gotasks.paths import state_dir

    sums = read_sums(settings.root, [f for f in [mod.dir / "go.sum"] if f.is_file()])
    where = where_of(sums)
    unpacked = unpack(
        Path(bundle).expanduser().absolute(),
        state_dir(settings.root) / "docker-bundle" / mod.name,
        [line for line, _ in sums],
        lambda line: where.get(line, "go.sum"),
        check_stop,
    )
    return unpacked.proxy


def _platforms(option: str | None, configured: list[str]) -> tuple[str, ...]:
    from gotasks.configspec import TARGET_PATTERN

    if not option:
        return tuple(configured)
    platforms = tuple(p.strip() for p in option.split(",") if p.strip())
    for platform in platforms:
        if not re.fullmatch(TARGET_PATTERN, platform):
            raise UsageError(
                f"docker.build --platform: {platform!r} is not OS/ARCH, e.g. linux/arm64"
            )
    return platforms


def _no_buildkit(engine: Engine, plan: BuildPlan | None = None) -> str:
    from gotasks.go.redact import has_credentials

    creds = [
        s.id
        for s in (plan.secrets if plan else ())
        if s.value is not None and has_credentials(s.value)
    ]
    extra = (
        f"; the env's {', '.join(n.upper() for n in creds)} carries credentials, which"
        " may only travel as BuildKit secrets"
        if creds
        else ""
    )
    return (
        f"{engine.why_not}: the Dockerfile's cache mounts and secrets need BuildKit"
        f" (install docker-buildx, or use podman or buildah){extra}"
    )


def _warn_cgo(settings: Settings, cgo: bool, docker: dict[str, Any]) -> None:
    if not cgo:
        return
    where = settings.where(("build", "cgo"))
    runtime = docker["runtime"]
    if _NO_LIBC.search(runtime):
        console.warn(
            f"{where}: build.cgo: true links the binary against the C library, which"
            f" docker.runtime {runtime} lacks: it would not start; set docker.runtime to"
            " gcr.io/distroless/base-debian12:nonroot (glibc)"
        )
    if docker["variant"] == "alpine":
        console.warn(
            f"{where}: build.cgo: true with docker.variant alpine: golang:alpine has no C"
            " compiler, so the build would fail (use docker.variant bookworm)"
        )


def _warn_undeclared(dockerfile: Path, plan: BuildPlan) -> None:
    """A Dockerfile someone else wrote ignores the build args it does not declare: say which."""
    from gotasks.container.dockerfile import MARKER, declared_args, is_gotasks

    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return  # the engine reports it, with its own words
    if is_gotasks(text):
        return
    missing = sorted(set(plan.args) - declared_args(text))
    if missing:
        console.warn(
            f"{dockerfile.name} is not gotasks' (no `{MARKER}` comment) and has no ARG for"
            f" {', '.join(missing)}: those build args would be ignored"
        )


def _engine(wanted: str, dry_run: bool) -> Engine:
    from gotasks.container.engine import assumed_engine, find_engine

    try:
        return find_engine(wanted)
    except UsageError:
        if not dry_run:
            raise
        return assumed_engine(wanted)


def _run_build(c: Context, engine: Engine, plan: BuildPlan) -> None:
    # Secret values live in a private folder for the build's length only.
    with tempfile.TemporaryDirectory(prefix="gotasks-secrets-") as private:
        files: dict[str, Path] = {}
        for secret in plan.secrets:
            if secret.source is not None:
                files[secret.id] = secret.source
                continue
            path = Path(private) / secret.id
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secret.value or "")
            files[secret.id] = path
        argv = plan.argv(engine, files)
        result = run_tool(c, argv, plan.context, extra_env=engine.env, hide=False)
    if result.exited != 0:
        raise TaskFailed(f"docker.build: {shlex.join(argv[:2])} failed (exit {result.exited})")


@task(
    name="context",
    needs=("settings",),
    cpu=0.5,
    mem="256M",
    help={"top": "how many of the largest entries to show (default 10)"},
)
def docker_context(c: Context, top: int = 10) -> None:
    """What an image build sends: size and files with and without .dockerignore."""
    from gotasks.container.buildcontext import summarize
    from gotasks.container.ignorefile import IgnoreFile

    root = settings_of(c.config).root
    ignore_path = root / ".dockerignore"
    ignore = IgnoreFile.read(ignore_path)
    everything = summarize(root, None, top)
    sent = summarize(root, ignore, top)
    print(f"build context: {root}")
    rules = f"{len(ignore.rules)} rules" if ignore_path.is_file() else "no .dockerignore"
    for label, summary, note in (
        ("without .dockerignore", everything, ""),
        ("with .dockerignore   ", sent, f"  ({rules})"),
    ):
        print(f"  {label}  {summary.files:>7} files  {format_size(summary.bytes):>9}{note}")
    if sent.largest:
        print("largest entries sent:")
        for entry in sent.largest:
            print(f"  {format_size(entry.size):>9}  {entry.path}")
    if sent.largest_files:
        print("largest files sent:")
        for entry in sent.largest_files:
            print(f"  {format_size(entry.size):>9}  {entry.path}")


def collection() -> Collection:
    docker = Collection("docker")
    docker.add_task(docker_build)
    docker.add_task(docker_context)
    return docker
