"""inv docker.build and docker.context: the command line, the secrets, the context.

There is no container engine here: stand-in `docker`/`podman` scripts record what they are
given (argv, and the secret files while the build runs). The Dockerfile itself is checked
with BuildKit's own parser and linter; an image is built only where an engine runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SOURCE, Project, clean_env

from gotasks.container.gomodule import local_replaces

FAKE_ENGINE = r"""#!/bin/sh
# A stand-in container engine: records argv and, while the build runs, each secret file.
log="$FAKE_ENGINE_LOG"
if [ "$1 $2" = "buildx version" ]; then
    [ -n "$FAKE_NO_BUILDX" ] && { echo "docker: unknown command: docker buildx" >&2; exit 1; }
    echo "github.com/docker/buildx v0.20.0"; exit 0
fi
if [ "$1" = "--version" ]; then
    echo "Docker version ${FAKE_DOCKER_VERSION:-28.2.2}, build x"; exit 0
fi
for arg in "$@"; do printf '%s\n' "$arg" >>"$log.argv"; done
prev=""
for arg in "$@"; do
    if [ "$prev" = "--secret" ]; then
        src=${arg#*src=}; id=${arg%%,*}; id=${id#id=}
        printf '%s mode=%s content=%s\n' "$id" "$(stat -c %a "$src")" "$(cat "$src")" \
            >>"$log.secrets"
    fi
    prev=$arg
done
echo "building (fake)"
"""


def engine_dir(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "engines"
    folder.mkdir(exist_ok=True)
    for name in names:
        script = folder / name
        script.write_text(FAKE_ENGINE)
        script.chmod(0o755)
    return folder


def with_docker_files(project: Project) -> Project:
    for name in ("Dockerfile", ".dockerignore"):
        shutil.copy2(SOURCE / name, project.root / name)
    project.commit_all("docker files")
    return project


def path_with(folder: Path | None) -> str:
    """PATH with go, git and python, and no real container engine; `folder` first."""
    keep = []
    for tool in ("go", "git", "python3"):
        found = shutil.which(tool)
        assert found, tool
        keep.append(str(Path(found).parent))
    keep += ["/usr/bin", "/bin"]
    parts = [str(folder)] if folder else []
    for entry in keep:
        if entry not in parts and not any(
            (Path(entry) / e).exists() for e in ("docker", "podman", "buildah")
        ):
            parts.append(entry)
    return os.pathsep.join(parts)


def argv_of(log: Path) -> list[str]:
    return Path(f"{log}.argv").read_text().splitlines()


def build_args(argv: list[str]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--build-arg"]
    return dict(p.split("=", 1) for p in pairs)


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return with_docker_files(make_project())


def test_dry_run_prints_the_command_from_the_config(project: Project) -> None:
    out = project.inv("docker.build", "--dry-run", "--env=prod", env={"PATH": path_with(None)})
    assert out.returncode == 0, out.stdout + out.stderr
    (line,) = [ln for ln in out.stdout.splitlines() if "--build-arg" in ln]
    assert line.startswith("docker buildx build --load --file ")
    assert "--build-arg MODULE=hello" in line and "--build-arg PACKAGE=./cmd/hello" in line
    assert "--build-arg TAGS=prod,netgo,osusergo" in line
    assert "--build-arg 'LDFLAGS=-s -w -X main.version=" in line
    assert "-X main.goVersion=go1." in line
    assert "--tag hello:" in line and line.endswith(str(project.root))


def test_credentials_travel_as_secrets_only(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "docker")
    log = tmp_path / "engine"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine git.corp.example login bob password hunter3\n")
    netrc.chmod(0o600)
    project.write(
        "config/dev.yaml",
        "go:\n  env:\n    GOPROXY: https://bob:hunter2@goproxy.corp.example,direct\n"
        "    GOPRIVATE: corp.example/*\n",
    )
    env = {"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log), "NETRC": str(netrc)}
    out = project.inv("docker.build", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    argv = argv_of(log)
    assert argv[:3] == ["buildx", "build", "--load"]
    args = build_args(argv)
    assert args["GOPROXY"] == "https://goproxy.corp.example,direct"  # no password
    assert args["GOPRIVATE"] == "corp.example/*"
    assert not any("hunter2" in a or "hunter3" in a for a in argv)
    assert "hunter2" not in out.stdout + out.stderr
    secrets = Path(f"{log}.secrets").read_text().splitlines()
    goproxy = next(s for s in secrets if s.startswith("goproxy "))
    assert "mode=600" in goproxy
    assert "content=https://bob:hunter2@goproxy.corp.example,direct" in goproxy
    assert any(s.startswith("netrc ") and "hunter3" in s for s in secrets)
    sources = [a.split("src=", 1)[1] for a in argv if a.startswith("id=goproxy,")]
    assert sources and not Path(sources[0]).exists()  # the secret file is gone after the build
    assert f"id=netrc,src={netrc}" in argv


def test_no_buildkit_is_refused_naming_the_credentials(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "docker")
    project.write(
        "config/dev.yaml", "go:\n  env:\n    GOPROXY: https://bob:hunter2@goproxy.corp.example\n"
    )
    env = {
        "PATH": path_with(engines),
        "FAKE_ENGINE_LOG": str(tmp_path / "e"),
        "FAKE_NO_BUILDX": "1",
    }
    out = project.inv("docker.build", env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "docker 28.2.2 has no buildx plugin" in out.stderr
    assert "GOPROXY carries credentials" in out.stderr and "hunter2" not in out.stderr
    assert not Path(f"{tmp_path / 'e'}.argv").exists()  # nothing ran
    off = project.inv("docker.build", env={**env, "FAKE_NO_BUILDX": "", "DOCKER_BUILDKIT": "0"})
    assert off.returncode == 2 and "DOCKER_BUILDKIT=0" in off.stderr


def test_old_docker_uses_its_own_buildkit(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "docker")
    log = tmp_path / "engine"
    env = {
        "PATH": path_with(engines),
        "FAKE_ENGINE_LOG": str(log),
        "FAKE_NO_BUILDX": "1",
        "FAKE_DOCKER_VERSION": "20.10.24",
    }
    out = project.inv("docker.build", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert argv_of(log)[0] == "build"


def test_podman_when_there_is_no_docker(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "podman")
    log = tmp_path / "engine"
    out = project.inv("docker.build", env={"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "image hello:" in out.stdout and "(podman)" in out.stdout
    assert argv_of(log)[0] == "build"


def test_no_engine_at_all(project: Project) -> None:
    out = project.inv("docker.build", env={"PATH": path_with(None)})
    assert out.returncode == 2
    assert "no container engine (docker, podman or buildah) on PATH" in out.stderr


def test_no_dockerfile(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    out = project.inv("docker.build", "--dry-run", env={"PATH": path_with(None)})
    assert out.returncode == 2
    assert "Dockerfile (`inv init` writes one)" in out.stderr


def dry_run_args(project: Project, *options: str) -> tuple[dict[str, str], str]:
    """The build args of the one build command --dry-run prints, and stderr."""
    out = project.inv("docker.build", "--dry-run", *options, env={"PATH": path_with(None)})
    assert out.returncode == 0, out.stdout + out.stderr
    (line,) = [ln for ln in out.stdout.splitlines() if "--build-arg" in ln]
    return build_args(shlex.split(line)), out.stderr


def test_modules_download_in_their_own_layer_when_go_mod_is_enough(project: Project) -> None:
    args, _ = dry_run_args(project)
    assert args["PREFETCH"] == "1"
    dockerfile = (project.root / "Dockerfile").read_text()
    assert 'if [ "$PREFETCH" = 1 ]; then go mod download;' in dockerfile
    assert "-d vendor" not in dockerfile  # only go.mod and go.sum are in that layer


def test_a_vendoring_module_builds_from_vendor(project: Project) -> None:
    (project.root / "hello" / "vendor").mkdir()
    (project.root / "hello" / "vendor" / "modules.txt").write_text("")
    project.write("config/dev.yaml", "go:\n  env:\n    GOFLAGS: -mod=readonly -trimpath\n")
    args, _ = dry_run_args(project)
    assert args["PREFETCH"] == "0"
    assert args["GOFLAGS"] == "-trimpath -mod=vendor"  # the env's -mod=readonly is not sent


def test_a_local_replace_skips_the_download_layer(project: Project) -> None:
    project.write("lib/go.mod", "module example.com/lib\n\ngo 1.21\n")
    gomod = project.root / "hello" / "go.mod"
    gomod.write_text(gomod.read_text() + "\nreplace example.com/lib => ../lib\n")
    args, _ = dry_run_args(project, "--module=hello")
    assert args["PREFETCH"] == "0"
    assert args["GOFLAGS"] == ""


def test_a_workspace_of_several_modules_skips_the_download_layer(project: Project) -> None:
    project.write("lib/go.mod", "module example.com/lib\n\ngo 1.21\n")
    project.write("go.work", "go 1.21\n\nuse (\n\t./hello\n\t./lib\n)\n")
    args, _ = dry_run_args(project, "--module=hello")
    assert args["PREFETCH"] == "0"
    project.write("go.work", "go 1.21\n\nuse ./hello\n")
    args, _ = dry_run_args(project, "--module=hello")
    assert args["PREFETCH"] == "1"  # only this module: go.mod alone knows what to download


@pytest.mark.parametrize(
    ("gomod", "found"),
    [
        ("replace example.com/a => ../a\n", [(1, "../a")]),
        ("replace example.com/a v1.0.0 => ./a // local\n", [(1, "./a")]),
        (
            "replace (\n\texample.com/a => ..\n\texample.com/b => example.com/c v1.2.0\n)\n",
            [(2, "..")],
        ),
        ('replace(\n  example.com/a => "/abs/a"\n)\n', [(2, "/abs/a")]),
        ("// replace example.com/a => ../a\nrequire example.com/b v1.0.0\n", []),
        ("replace example.com/a => example.com/fork v1.0.0\n", []),
    ],
)
def test_local_replaces(gomod: str, found: list[tuple[int, str]]) -> None:
    assert local_replaces(gomod) == found


def test_netrc_goes_to_a_company_proxy(project: Project, tmp_path: Path) -> None:
    """No private module patterns, but a proxy of the company's own: it may want the .netrc."""
    engines = engine_dir(tmp_path, "docker")
    log = tmp_path / "engine"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine goproxy.corp.example login bob password hunter3\n")
    env = {"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log), "NETRC": str(netrc)}
    project.write("config/dev.yaml", "go:\n  env:\n    GOPROXY: goproxy.corp.example|direct\n")
    out = project.inv("docker.build", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"id=netrc,src={netrc}" in argv_of(log)
    Path(f"{log}.argv").unlink()
    public = "https://proxy.golang.org,https://goproxy.cn|direct"
    project.write("config/dev.yaml", f"go:\n  env:\n    GOPROXY: {public}\n")
    out = project.inv("docker.build", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not any(a.startswith("id=netrc") for a in argv_of(log))


@pytest.mark.parametrize(
    ("docker_config", "warnings"),
    [
        ("", ["gcr.io/distroless/base-debian12:nonroot (glibc)"]),
        ("docker:\n  runtime: scratch\n", ["gcr.io/distroless/base-debian12:nonroot (glibc)"]),
        ("docker:\n  runtime: gcr.io/distroless/base-debian12:nonroot\n", []),
        (
            "docker:\n  variant: alpine\n",
            ["gcr.io/distroless/base-debian12:nonroot (glibc)", "golang:alpine has no C compiler"],
        ),
    ],
)
def test_cgo_warns_where_the_image_cannot_work(
    project: Project, docker_config: str, warnings: list[str]
) -> None:
    project.write("config/dev.yaml", "build:\n  cgo: true\n" + docker_config)
    args, stderr = dry_run_args(project)
    assert args["CGO_ENABLED"] == "1"
    lines = [ln for ln in stderr.splitlines() if ln.startswith("warn ")]
    assert len(lines) == len(warnings), stderr
    for line, expected in zip(lines, warnings, strict=True):
        assert line.startswith("warn config/dev.yaml:2: build.cgo: true") and expected in line


def test_dockerfile_cross_compiles_for_the_target_platform() -> None:
    text = (SOURCE / "Dockerfile").read_text()
    assert "FROM --platform=$BUILDPLATFORM golang:" in text
    assert "ARG TARGETOS TARGETARCH" in text
    assert "GOOS=$TARGETOS GOARCH=$TARGETARCH \\\n    go build " in text


def test_platform_option_overrides_the_config(project: Project) -> None:
    project.write("config/dev.yaml", "docker:\n  platforms: [linux/amd64]\n")
    out = project.inv(
        "docker.build", "--dry-run", "--platform=linux/arm64", env={"PATH": path_with(None)}
    )
    assert out.returncode == 0, out.stderr
    assert "--platform linux/arm64 " in out.stdout
    bad = project.inv("docker.build", "--platform=arm64", env={"PATH": path_with(None)})
    assert bad.returncode == 2
    assert "docker.build --platform: 'arm64' is not OS/ARCH" in bad.stderr


def test_docker_refuses_several_platforms(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "docker")
    log = tmp_path / "engine"
    env = {"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log)}
    out = project.inv("docker.build", "--platform=linux/amd64,linux/arm64", env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "docker cannot load an image of 2 platforms (linux/amd64, linux/arm64)" in out.stderr
    assert "build one platform at a time (--platform=linux/amd64)" in out.stderr
    assert not Path(f"{log}.argv").exists()
    dry = project.inv("docker.build", "--dry-run", "--platform=linux/amd64,linux/arm64", env=env)
    assert dry.returncode == 0
    assert "warn a real run would be refused: docker.build: docker cannot load" in dry.stderr
    assert "--platform linux/amd64,linux/arm64" in dry.stdout


def test_podman_builds_several_platforms_into_a_manifest_list(
    project: Project, tmp_path: Path
) -> None:
    engines = engine_dir(tmp_path, "podman")
    log = tmp_path / "engine"
    project.write("config/dev.yaml", "docker:\n  platforms: [linux/amd64, linux/arm64]\n")
    out = project.inv("docker.build", env={"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log)})
    assert out.returncode == 0, out.stdout + out.stderr
    argv = argv_of(log)
    assert "--tag" not in argv
    name = argv[argv.index("--manifest") + 1]
    assert name.startswith("hello:")
    assert argv[argv.index("--platform") + 1] == "linux/amd64,linux/arm64"
    assert f"manifest list {name} (podman, linux/amd64, linux/arm64)" in out.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NPM_TOKEN", "abc123"),
        ("db_password", "abc123"),
        ("MyApiKey", "abc123"),
        ("MIRROR", "https://bob:abc123@mirror.corp.example"),
    ],
)
def test_build_args_that_hold_secrets_are_refused(project: Project, name: str, value: str) -> None:
    project.write("config/dev.yaml", f"docker:\n  build_args:\n    APP: x\n    {name}: '{value}'\n")
    out = project.inv("docker.build", "--dry-run", env={"PATH": path_with(None)})
    assert out.returncode == 2
    assert out.stderr.startswith(f"config/dev.yaml:4: docker.build_args.{name}: ")
    assert out.stderr.count("\n") == 1 and "abc123" not in out.stdout + out.stderr


def test_dry_run_says_a_real_run_would_be_refused(project: Project, tmp_path: Path) -> None:
    engines = engine_dir(tmp_path, "docker")
    env = {
        "PATH": path_with(engines),
        "FAKE_ENGINE_LOG": str(tmp_path / "e"),
        "FAKE_NO_BUILDX": "1",
    }
    out = project.inv("docker.build", "--dry-run", env=env)
    assert out.returncode == 0, out.stderr
    (warning,) = out.stderr.splitlines()
    assert warning.startswith("warn a real run would be refused: docker 28.2.2 has no buildx")
    assert "need BuildKit" in warning
    assert "docker build --file" in out.stdout


def test_a_foreign_dockerfile_gets_a_warning_for_args_it_ignores(project: Project) -> None:
    _, stderr = dry_run_args(project)
    assert stderr == ""  # gotasks' own Dockerfile declares every one
    project.write(
        "Dockerfile",
        "# syntax=docker/dockerfile:1\nARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}\n"
        "arg MODULE PACKAGE=. \\\n  # a comment\n  GOFLAGS\nCOPY . .\n",
    )
    _, stderr = dry_run_args(project)
    (warning,) = stderr.splitlines()
    assert warning.startswith("warn Dockerfile is not gotasks' (no `inv docker.build` comment)")
    assert "has no ARG for CGO_ENABLED, COMMIT, GONOPROXY," in warning
    assert "GO_VERSION" not in warning and "MODULE" not in warning and " GOFLAGS" not in warning
    assert warning.endswith(": those build args would be ignored")


def test_unknown_package_lists_the_main_packages(project: Project) -> None:
    out = project.inv(
        "docker.build", "--dry-run", "--package=./cmd/nope", env={"PATH": path_with(None)}
    )
    assert out.returncode == 2
    assert "no main package './cmd/nope'; main packages: ./cmd/hello" in out.stderr


def test_context_report(project: Project) -> None:
    (project.root / "dist").mkdir()
    (project.root / "dist" / "big.bin").write_bytes(b"\0" * 3_000_000)
    (project.root / "hello" / "testdata").mkdir()
    (project.root / "hello" / "testdata" / "golden.txt").write_text("x" * 5000)
    out = project.inv("docker.context")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    without = next(ln for ln in lines if "without .dockerignore" in ln).split()
    with_ignore = next(ln for ln in lines if "  with .dockerignore" in ln).split()
    sent_files = int(with_ignore[2])
    go_files = [
        p
        for p in (project.root / "hello").rglob("*.go")
        if not p.name.endswith("_test.go") and "testdata" not in p.parts
    ]
    # go.mod, the non-test .go files, README.md (a go:embed may want it), .gitignore:
    # nothing else of the tree.
    assert sent_files == len(go_files) + 3, out.stdout
    assert int(without[2]) > sent_files
    assert "dist" not in out.stdout.split("largest entries sent:")[1]
    assert "hello" in out.stdout.split("largest entries sent:")[1]


CHECKER = r"""package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

type report struct {
	Args     []string `json:"args"`
	Stages   []string `json:"stages"`
	Warnings []string `json:"warnings"`
}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	res, err := parser.Parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parse:", err)
		os.Exit(1)
	}
	var r report
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		r.Warnings = append(r.Warnings, rule+": "+msg)
	}})
	stages, meta, err := instructions.Parse(res.AST, lint)
	if err != nil {
		fmt.Fprintln(os.Stderr, "instructions:", err)
		os.Exit(1)
	}
	for _, m := range meta {
		for _, a := range m.Args {
			r.Args = append(r.Args, a.Key)
		}
	}
	for _, s := range stages {
		r.Stages = append(r.Stages, s.BaseName)
		for _, c := range s.Commands {
			if a, ok := c.(*instructions.ArgCommand); ok {
				for _, kv := range a.Args {
					r.Args = append(r.Args, kv.Key)
				}
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
"""


def test_dockerfile_passes_buildkits_own_parser_and_linter(project: Project) -> None:
    """Every build arg the task passes is declared, and BuildKit's linter has nothing to say."""
    work = Path(tempfile.mkdtemp(prefix="gotasks-dockerfile-check-"))
    try:
        (work / "main.go").write_text(CHECKER)
        (work / "go.mod").write_text(
            "module check\n\ngo 1.24\n\nrequire github.com/moby/buildkit v0.34.2\n"
        )
        env = clean_env(GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
        tidy = subprocess.run(
            ["go", "mod", "tidy"], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        if tidy.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"CI must reach the Go module proxy: {tidy.stderr}")
            pytest.skip(f"BuildKit's parser is not reachable (offline?): {tidy.stderr.strip()}")
        checked = subprocess.run(
            ["go", "run", ".", str(project.root / "Dockerfile")],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["warnings"] is None or report["warnings"] == []
    assert report["stages"][0] == "scratch"  # the goproxy stage a bundle replaces
    assert report["stages"][1].startswith("golang:")
    dry = project.inv("docker.build", "--dry-run", env={"PATH": path_with(None)})
    (line,) = [ln for ln in dry.stdout.splitlines() if "--build-arg" in ln]
    argv = subprocess.run(
        ["python3", "-c", "import shlex,sys; print('\\n'.join(shlex.split(sys.argv[1])))", line],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert set(build_args(argv)) <= set(report["args"])


def _engine_daemon() -> str | None:
    for name in ("docker", "podman"):
        tool = shutil.which(name)
        if tool and subprocess.run([tool, "info"], capture_output=True).returncode == 0:
            if (
                name == "docker"
                and subprocess.run([tool, "buildx", "version"], capture_output=True).returncode != 0
            ):
                continue
            return name
    return None


def test_an_image_is_built_where_an_engine_runs(project: Project) -> None:
    engine = _engine_daemon()
    if engine is None:
        pytest.skip("no container engine runs here (docker without a daemon or buildx, no podman)")
    out = project.inv("docker.build")
    assert out.returncode == 0, out.stdout + out.stderr
    tag = out.stdout.split("image ", 1)[1].split()[0]
    ran = subprocess.run([engine, "run", "--rm", tag, "version"], capture_output=True, text=True)
    assert ran.returncode == 0 and "go1." in ran.stdout
