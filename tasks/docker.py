"""`inv docker.build` and `inv docker.context`: images from the same config as `inv build`."""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context

from tasks.build import main_packages
from tasks.container.buildcontext import summarize
from tasks.container.buildplan import BuildPlan, plan_build
from tasks.container.engine import Engine, find_engine
from tasks.container.ignorefile import IgnoreFile
from tasks.context import module_header, module_of, run_tool, settings_of, toolchain_of
from tasks.engine import TaskFailed, UsageError, console, task
from tasks.go.artifacts import short_name
from tasks.go.buildinfo import read_vcs, version_ldflags
from tasks.go.redact import has_credentials


@task(
    name="build",
    cpu=2,
    mem="2G",
    pool="build",
    each="module",
    help={
        "module": "only this module (its folder or module path); default: every module",
        "package": "the main package to put in the image, e.g. ./cmd/hello (default: each)",
        "dry_run": "print the build command instead of running it (no engine needed)",
    },
)
def docker_build(
    c: Context, module: str | None = None, package: str | None = None, dry_run: bool = False
) -> None:
    """Build an image per main package with docker, podman or buildah (BuildKit needed)."""
    assert module is not None
    settings = settings_of(c.config)
    mod = module_of(c, module)
    module_header(c, "docker.build", mod)
    docker = settings.section("docker")
    dockerfile = settings.root / docker["file"]
    if not dockerfile.is_file():
        raise UsageError(f"docker.build: no {dockerfile} (`inv init` writes one)")
    packages = main_packages(c, mod)
    if package:
        wanted = package.removeprefix("./").rstrip("/")
        packages = [p for p in packages if p == wanted or p.endswith("/" + wanted)]
        if not packages:
            raise UsageError(f"docker.build {mod.rel}: no main package {package!r}")
    if not packages:
        console.info("no main package: no image")
        return
    engine = _engine(docker["engine"], dry_run)
    toolchain, environment = toolchain_of(c.config)
    build_config = settings.section("build")
    vcs = read_vcs(mod.dir)
    ldflags = version_ldflags(
        vcs, toolchain.version_text, build_config["version_vars"], build_config["ldflags"]
    )
    for import_path in packages:
        rel = import_path.removeprefix(mod.path).lstrip("/")
        plan = plan_build(
            root=settings.root,
            dockerfile=dockerfile,
            module_rel=mod.rel,
            package_rel=f"./{rel}" if rel else ".",
            binary=short_name(import_path),
            go_version=toolchain.version_text,
            environment=environment,
            cgo=build_config["cgo"],
            ldflags=ldflags,
            vcs=vcs,
            docker=docker,
            environ=os.environ,
        )
        if dry_run:
            print(plan.shown(engine))
            continue
        if not engine.buildkit:
            creds = [s.id for s in plan.secrets if s.value is not None and has_credentials(s.value)]
            extra = (
                f"; the env's {', '.join(n.upper() for n in creds)} carries credentials, which"
                " may only travel as BuildKit secrets"
                if creds
                else ""
            )
            raise UsageError(
                f"docker.build: {engine.why_not}: the Dockerfile's cache mounts and secrets need"
                f" BuildKit (install docker-buildx, or use podman or buildah){extra}"
            )
        _run_build(c, engine, plan)
        console.ok(f"{mod.rel}: image {plan.tag} ({engine.name})")


def _engine(wanted: str, dry_run: bool) -> Engine:
    try:
        return find_engine(wanted)
    except UsageError:
        if not dry_run:
            raise
        name = "docker" if wanted == "auto" else wanted
        return Engine(
            name, (name, "buildx", "build", "--load") if name == "docker" else (name, "build")
        )


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
    root = settings_of(c.config).root
    ignore_path = root / ".dockerignore"
    ignore = IgnoreFile.read(ignore_path)
    everything = summarize(root, None, top)
    sent = summarize(root, ignore, top)
    print(f"build context: {root}")
    print(f"  without .dockerignore  {everything.files:>7} files  {_size(everything.bytes):>9}")
    rules = f"{len(ignore.rules)} rules" if ignore_path.is_file() else "no .dockerignore"
    print(f"  with .dockerignore     {sent.files:>7} files  {_size(sent.bytes):>9}  ({rules})")
    if sent.largest:
        print("largest entries sent:")
        for entry in sent.largest:
            print(f"  {_size(entry.size):>9}  {entry.path}")
    if sent.largest_files:
        print("largest files sent:")
        for entry in sent.largest_files:
            print(f"  {_size(entry.size):>9}  {entry.path}")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def collection() -> Collection:
    docker = Collection("docker")
    docker.add_task(docker_build)
    docker.add_task(docker_context)
    return docker
