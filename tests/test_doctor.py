"""`inv doctor`: one line per finding (ok, warn, FAIL), exit 1 on any failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Project
from sdkserver import ReleaseServer, make_go_archive


def lines(out: subprocess.CompletedProcess[str], mark: str) -> list[str]:
    return [line for line in out.stdout.splitlines() if line.startswith(mark)]


def test_a_healthy_project(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    out = project.inv("doctor", env={"GOTASKS_SDK_ROOT": str(tmp_path / "sdk")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert not lines(out, "FAIL")
    text = out.stdout
    assert "ok   config: env dev" in text
    assert "ok   go: go1." in text and "(the go on PATH)" in text
    assert "ok   modules: 1, every go line within go1." in text
    assert "ok   git: repository at" in text
    assert "ok   scheduler: " in text and "CPUs" in text and "memory" in text
    assert "ok   sdk: none installed" in text


def test_bad_config_fails_but_the_rest_is_still_checked(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    project.write("config/prod.yaml", "go:\n  tags: [prod\n")
    out = project.inv("doctor")
    assert out.returncode == 1
    fails = lines(out, "FAIL")
    assert len(fails) == 1 and "config/prod.yaml:" in fails[0]
    assert "ok   go: " in out.stdout and "ok   git: " in out.stdout
    assert "Traceback" not in out.stderr
    assert out.stderr.strip() == "doctor: 1 check failed"


def test_private_paths_sent_to_public_services_are_warned_about(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    project.write(
        "config/prod.yaml",
        "go:\n  env:\n    GOPROXY: https://proxy.golang.org,direct\n"
        "    GOPRIVATE: corp.example/*\n    GONOPROXY: other.example\n"
        "    GOSUMDB: sum.golang.org\n",
    )
    project.write(
        "config/test.yaml",
        "go:\n  env:\n    GOPROXY: https://bob:hunter2@goproxy.corp.example,direct\n",
    )
    out = project.inv("doctor", env={"GONOSUMCHECK": "corp.example"})
    assert out.returncode == 0, out.stdout + out.stderr  # warnings only
    warns = "\n".join(lines(out, "warn"))
    assert "env prod: GOPRIVATE corp.example/* is not in GONOPROXY (other.example)" in warns
    assert "public proxy https://proxy.golang.org" in warns
    assert "config/test.yaml:3: a password written into the config" in warns
    assert "hunter2" not in out.stdout + out.stderr
    assert "GONOSUMCHECK is set but Go does not know it" in warns
    assert "did you mean GONOSUMDB?" in warns
    assert "env test: GOPROXY is the placeholder https://bob:***@goproxy.corp.example" in warns
    assert "put your proxy in config/test.yaml:3" in warns


@pytest.mark.e2e
def test_the_shipped_placeholder_proxy_is_warned_about_until_it_is_set(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    out = project.inv("doctor")
    warns = [line for line in lines(out, "warn") if "placeholder" in line]
    assert [line.split(":")[0] for line in warns] == ["warn env prod", "warn env test"]
    for line in warns:
        assert "https://goproxy.corp.example" in line
        assert "set GOTASKS_COMPANY_PROXY to your proxy" in line
        assert "export GOTASKS_COMPANY_PROXY=" in line
    assert "config/prod.yaml:5" in warns[0] and "config/test.yaml:6" in warns[1]
    ready = project.inv("doctor", env={"GOTASKS_COMPANY_PROXY": "https://goproxy.mine.io"})
    assert "is the placeholder" not in ready.stdout, ready.stdout


def test_a_module_that_needs_a_newer_go_fails(make_project: Callable[..., Project]) -> None:
    project = make_project()
    gomod = project.root / "hello" / "go.mod"
    gomod.write_text(gomod.read_text().replace("go 1.21", "go 1.99"))
    out = project.inv("doctor")
    assert out.returncode == 1
    (fail,) = lines(out, "FAIL")
    assert "is too old" in fail and "hello/go.mod:3 asks for go 1.99" in fail


def test_no_go_on_path_fails(make_project: Callable[..., Project]) -> None:
    project = make_project()
    python_dir = str(Path(shutil.which("python3") or "/usr/bin/python3").parent)
    no_go = os.pathsep.join([python_dir, "/usr/bin", "/bin"])
    if shutil.which("go", path=no_go):
        pytest.skip("go is installed in /usr/bin or /bin here")
    out = project.inv("doctor", env={"PATH": no_go})
    assert out.returncode == 1
    assert any("go: not found on PATH" in line for line in lines(out, "FAIL"))


def test_dubious_ownership_is_named_with_the_fix(make_project: Callable[..., Project]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    project = make_project()
    subprocess.run(["chown", "-R", "12345:12345", str(project.root / ".git")], check=True)
    subprocess.run(["chown", "12345:12345", str(project.root)], check=True)
    out = project.inv("doctor")
    assert out.returncode == 1
    (fail,) = [line for line in lines(out, "FAIL") if "git:" in line]
    assert "dubious ownership" in fail
    assert f"git config --global --add safe.directory {project.root}" in fail
    # A build would stamp "unknown": it stops instead, with the same fix.
    build = project.inv("build", env={"GOFLAGS": "-buildvcs=false"})
    assert build.returncode == 2
    assert "dubious ownership" in build.stderr and "safe.directory" in build.stderr


def test_a_broken_sdk_install_fails(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    root = tmp_path / "sdk"
    with ReleaseServer() as server:
        server.add(make_go_archive(tmp_path / "archives", "1.22.5"), "1.22.5")
        env = {"GOTASKS_SDK_ROOT": str(root), "GOTASKS_SDK_MIRROR": server.base, "GOPROXY": "off"}
        assert project.inv("sdk.install", "1.22.5", env=env).returncode == 0
    out = project.inv("doctor", env=env)
    assert out.returncode == 0
    assert f"ok   sdk: go1.22.5 intact ({root / '1.22.5'})" in out.stdout
    (root / "1.22.5" / "bin" / "go").write_text("#!/bin/sh\necho go version go1.1 linux/amd64\n")
    broken = project.inv("doctor", env=env)
    assert broken.returncode == 1
    (fail,) = lines(broken, "FAIL")
    assert "sdk: go1.22.5" in fail and "is broken" in fail
    assert "inv sdk.install --force 1.22.5" in fail


BAD_RUN_VARIABLES = {
    "GOTASKS_CPUS": ("lots", "GOTASKS_CPUS: expected a number of cores"),
    "GOTASKS_MEMORY": ("1", "GOTASKS_MEMORY: 1 is 1B, less than the 64M"),
    "GOTASKS_RESERVE": ("100%", "GOTASKS_RESERVE: 100% would hold back all the memory"),
    "GOTASKS_JOBS": ("many", "GOTASKS_JOBS: expected a whole number"),
    "GOTASKS_OUTPUT": ("json", "GOTASKS_OUTPUT: expected group or prefixed"),
    "GOTASKS_SDK_MIRROR": ("ftp://m.example", "$GOTASKS_SDK_MIRROR: 'ftp://m.example' is not"),
}


@pytest.mark.e2e
def test_every_bad_gotasks_value_is_a_finding_and_the_rest_is_checked(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    env = {name: value for name, (value, _) in BAD_RUN_VARIABLES.items()}
    out = project.inv("doctor", env={**env, "GOTASKS_SDK_ROOT": str(tmp_path / "sdk")})
    assert out.returncode == 1, out.stdout + out.stderr
    fails = lines(out, "FAIL")
    for name, (_, said) in BAD_RUN_VARIABLES.items():
        assert [line for line in fails if said in line], (name, out.stdout)
    assert len(fails) == len(BAD_RUN_VARIABLES), out.stdout
    # The rest: checked, and the capacity worked out without the bad values.
    for checked in ("ok   config: ", "ok   go: ", "ok   git: ", "ok   sdk: none installed"):
        assert checked in out.stdout, out.stdout
    assert "ok   scheduler: " in out.stdout and "CPU affinity" in out.stdout
    assert out.stderr.strip() == f"doctor: {len(BAD_RUN_VARIABLES)} checks failed"
    # Any other task still stops at them: one line, exit 2.
    for name, (value, said) in BAD_RUN_VARIABLES.items():
        if name == "GOTASKS_SDK_MIRROR":
            continue  # read only by what installs an SDK
        refused = project.inv("env", env={name: value})
        assert refused.returncode == 2, (name, refused.stderr)
        assert refused.stderr.strip().startswith(said.split(": ")[0] + ": "), refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.e2e
def test_a_bad_flag_still_stops_doctor(make_project: Callable[..., Project]) -> None:
    project = make_project(git=False)
    out = project.inv("doctor", "--jobs=-1", env={"GOTASKS_CPUS": "lots"})
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == "--jobs: must be 0 (no cap) or more, got -1"


@pytest.mark.e2e
def test_clamped_values_are_warned_about_once(make_project: Callable[..., Project]) -> None:
    project = make_project(git=False)
    cpus = os.cpu_count() or 1
    out = project.inv("doctor", env={"GOTASKS_CPUS": "1e99"})
    clamped = f"GOTASKS_CPUS=1e99: this machine has {cpus} CPUs; using {cpus}"
    warned = [line for line in lines(out, "warn") if "scheduler" in line]
    assert warned == [f"warn scheduler: {clamped}"], out.stdout + out.stderr
    assert clamped not in out.stderr
    # Any other run says it once, on stderr (stdout stays what the task prints).
    env = project.inv("env", env={"GOTASKS_CPUS": "1e99"})
    assert env.returncode == 0, env.stderr
    assert env.stderr.splitlines() == [f"warn {clamped}"]
    assert clamped not in env.stdout
