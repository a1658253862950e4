"""Build-time stamping never fails silently: a build.version_vars -X target that is no
string variable of a main package is a warning per package, naming the variables it does
have; build.strict_stamps makes it the build's failure."""

from __future__ import annotations

from collections.abc import Callable

from helpers import Project

MAIN = (
    'package main\n\nimport "fmt"\n\nvar Version = "dev"\n\nfunc main() { fmt.Println(Version) }\n'
)


def app(make_project: Callable[..., Project]) -> Project:
    project = make_project(example=False, git=False)
    project.write("app/go.mod", "module example.com/app\n\ngo 1.21\n")
    project.write("app/cmd/app/main.go", MAIN)
    project.write("app/cmd/other/main.go", MAIN.replace("Version", "BuildTag"))
    project.git("init", "-q", "-b", "main")
    project.commit_all("app")
    return project


def test_a_missing_target_warns_once_per_package_and_strict_refuses(
    make_project: Callable[..., Project],
) -> None:
    project = app(make_project)
    out = project.inv("build", "--host")
    assert out.returncode == 0, out.stdout + out.stderr
    said = out.stdout + out.stderr
    warnings = [line for line in said.splitlines() if line.startswith("warn ")]
    assert len(warnings) == 2, said
    first = next(w for w in warnings if "example.com/app/cmd/app:" in w)
    assert first.startswith(
        "warn example.com/app/cmd/app: -X main.version (version), main.commit (commit),"
    ), first
    assert "its version-like string variables: main.Version" in first
    assert any("main.BuildTag" in w for w in warnings)
    # The binary was built all the same: the warning is the whole effect.
    assert list((project.root / "dist").glob("app_*/app"))

    # Set right, silence; one left wrong under strict_stamps: exit 1 with that line.
    project.write(
        "config/dev.yaml",
        (project.root / "config" / "dev.yaml").read_text()
        + "build:\n  strict_stamps: true\n  packages: [./cmd/app]\n  version_vars:\n"
        '    version: main.Version\n    commit: ""\n    commit_date: ""\n    dirty: ""\n'
        '    go_version: ""\n',
    )
    out = project.inv("build", "--host")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "warn " not in out.stdout + out.stderr
    text = (project.root / "config" / "dev.yaml").read_text()
    project.write("config/dev.yaml", text.replace("version: main.Version", "version: main.v"))
    out = project.inv("build", "--host", "--force")
    assert out.returncode == 1, out.stdout + out.stderr
    assert (
        "build app: example.com/app/cmd/app: -X main.v (version) set nothing (no such string"
        " variable there); its version-like string variables: main.Version; set"
        " build.version_vars (build.strict_stamps)" in out.stdout + out.stderr
    ), out.stdout + out.stderr
