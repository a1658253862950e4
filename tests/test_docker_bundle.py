"""`inv docker.build --from BUNDLE.tar`: the image's modules come from a setup bundle's module
proxy, passed as the `goproxy` build context the Dockerfile mounts, with GOPROXY reading only
it. No container engine runs here: the command a stand-in engine receives is checked, and
the Dockerfile by BuildKit's own parser (tests/test_docker.py); the image build itself runs
only where an engine does."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import GOPROXY_DATA, SOURCE, Project
from test_docker import FAKE_ENGINE, _engine_daemon, path_with

from gotasks.go.bundle import Manifest, select_files, write_bundle
from gotasks.go.gosum import parse_go_sum

GO_SUM = """\
github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=
github.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=
"""


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    project = make_project()
    for name in ("Dockerfile", ".dockerignore"):
        shutil.copy2(SOURCE / name, project.root / name)
    go_mod = project.root / "hello" / "go.mod"
    go_mod.write_text(go_mod.read_text() + "\nrequire github.com/pkg/errors v0.9.1\n")
    project.write("hello/go.sum", GO_SUM)
    return project


def bundle_of(folder: Path) -> Path:
    lines = parse_go_sum(GO_SUM)
    selected = select_files(lines, GOPROXY_DATA, lambda line: "go.sum")
    out = folder / "modules.tar"
    write_bundle(out, Manifest(None, selected.modules), None, GOPROXY_DATA, selected.files)
    return out


def test_dry_run_passes_the_bundle_as_the_goproxy_context(project: Project, tmp_path: Path) -> None:
    bundle = bundle_of(tmp_path)
    out = project.inv(
        "docker.build", "--dry-run", "--from", str(bundle), env={"PATH": path_with(None)}
    )
    assert out.returncode == 0, out.stdout + out.stderr
    (line,) = [ln for ln in out.stdout.splitlines() if "--build-arg" in ln]
    argv = shlex.split(line)
    folder = project.root / ".gotasks" / "docker-bundle" / "hello" / "goproxy"
    assert argv[argv.index("--build-context") + 1] == f"goproxy={folder}"
    assert "GOPROXY=file:///goproxy,off" in argv
    assert "GOSUMDB=sum.golang.org" in argv  # go.sum is still checked, the same way
    assert (folder / "github.com/pkg/errors/@v/v0.9.1.zip").is_file()
    # Without --from: no context, the env's GOPROXY.
    plain = project.inv("docker.build", "--dry-run", env={"PATH": path_with(None)})
    assert "--build-context" not in plain.stdout and "file:///goproxy" not in plain.stdout


def test_the_engine_gets_the_context_and_no_goproxy_secret(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "config/dev.yaml", "go:\n  env:\n    GOPROXY: https://bob:hunter2@goproxy.corp.example\n"
    )
    engines = tmp_path / "engines"
    engines.mkdir()
    (engines / "docker").write_text(FAKE_ENGINE)
    (engines / "docker").chmod(0o755)
    log = tmp_path / "engine"
    env = {"PATH": path_with(engines), "FAKE_ENGINE_LOG": str(log)}
    out = project.inv("docker.build", "--from", str(bundle_of(tmp_path)), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    argv = Path(f"{log}.argv").read_text().splitlines()
    assert "--build-context" in argv and "GOPROXY=file:///goproxy,off" in argv
    assert not any(a.startswith("id=goproxy") for a in argv)  # the password stays out
    assert "hunter2" not in "\n".join(argv)


def test_a_tampered_bundle_is_refused_before_any_build(project: Project, tmp_path: Path) -> None:
    bundle = bundle_of(tmp_path)
    bad = tmp_path / "bad.tar"
    name = "gotasks-bundle/goproxy/github.com/pkg/errors/@v/v0.9.1.mod"
    with tarfile.open(bundle) as old, tarfile.open(bad, "w") as new:
        for info in old.getmembers():
            handle = old.extractfile(info)
            data = handle.read() if handle else b""
            if info.name == name:
                data += b"// changed\n"
                info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    out = project.inv(
        "docker.build", "--dry-run", "--from", str(bad), env={"PATH": path_with(None)}
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "goproxy/github.com/pkg/errors/@v/v0.9.1.mod: h1:" in out.stderr
    assert "hello/go.sum:2" in out.stderr
    assert "--build-arg" not in out.stdout


def test_an_image_builds_from_the_bundle_with_no_network(project: Project, tmp_path: Path) -> None:
    engine = _engine_daemon()
    if engine is None:
        pytest.skip("no container engine with BuildKit runs here (docker buildx, podman)")
    out = project.inv("docker.build", "--from", str(bundle_of(tmp_path)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert subprocess.run([engine, "image", "ls"], capture_output=True).returncode == 0
