"""A real second Go toolchain, installed through the Go module proxy (checked by go against
the checksum database), runs the example module's tests."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project, clean_env

# Older than the machine's go, newer than the example's `go 1.21`; pinned so the test
# downloads the same bytes every time.
SECOND_GO = "1.25.14"


def _proxy_reachable() -> str | None:
    out = subprocess.run(
        ["go", "list", "-m", "-versions", "golang.org/toolchain"],
        capture_output=True,
        text=True,
        env=clean_env(GOTOOLCHAIN="local", GOFLAGS=""),
        cwd=tempfile.gettempdir(),
        check=False,
        timeout=120,
    )
    if out.returncode == 0 and f"v0.0.1-go{SECOND_GO}.linux-amd64" in out.stdout:
        return None
    return (out.stderr.strip().splitlines() or ["no such version listed"])[-1]


def test_real_toolchain_from_the_module_proxy_runs_the_example_tests(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the pinned toolchain is linux/amd64")
    problem = _proxy_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must reach the Go module proxy: {problem}")
        pytest.skip(f"the Go module proxy is not reachable (offline?): {problem}")
    project = make_project()
    project.write("config/dev.yaml", "go:\n  tags: [dev]\nsdk:\n  sources: [proxy]\n")
    env = {"GOTASKS_SDK_ROOT": str(tmp_path / "sdk")}

    out = project.inv("sdk.install", SECOND_GO, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    for stage in ("resolve", "download", "verify", "extract", "smoke-test", "activate"):
        assert f"  {stage}" in out.stdout
    sdk = tmp_path / "sdk" / SECOND_GO
    assert (sdk / "bin" / "go").is_file()
    assert not list((tmp_path / "sdk").glob(".tmp-*"))  # go's scratch module cache is gone

    tests = project.inv("test", "--go", SECOND_GO, env=env)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert f"[dev, go{SECOND_GO}]" in tests.stdout
    assert "tests: " in tests.stdout and "passed" in tests.stdout
