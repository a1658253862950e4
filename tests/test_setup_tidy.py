"""A bundle carries what lint's `go mod tidy -diff` reads, not only what `go mod download`
fetches: the modules that only the tests of a dependency import (go.sum has their `h1:`
lines, but `go mod download` never fetches their zips). Without them `inv ci` on the
restored machine fails in lint with `module lookup disabled by GOPROXY=off`, as yq's did."""

from __future__ import annotations

import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import Project
from sdkserver import ReleaseServer
from test_setup import (  # noqa: F401  (the fixtures, shared)
    UNREACHABLE,
    ModuleProxy,
    machine,
    module_proxy,
    ok,
    project,
    releases,
)

pytestmark = pytest.mark.e2e

LIB, CHECK = "gotasks.test/lib", "gotasks.test/check"


def _module(proxy: Path, path: str, files: dict[str, str]) -> None:
    """`path`@v1.0.0 in `proxy`'s folder, in the module proxy's layout."""
    at = proxy / path / "@v"
    at.mkdir(parents=True)
    (at / "v1.0.0.info").write_text('{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}\n')
    (at / "v1.0.0.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(at / "v1.0.0.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{path}@v1.0.0/{name}", text)


def _depend_on_a_library_whose_tests_import_another(
    project: Project,  # noqa: F811
    proxy: ModuleProxy,
    tmp_path: Path,
) -> None:
    _module(
        proxy.folder,
        CHECK,
        {
            "go.mod": f"module {CHECK}\n\ngo 1.21\n",
            "check.go": "package check\n\n// Equal says whether a and b are.\n"
            "func Equal(a, b string) bool { return a == b }\n",
        },
    )
    _module(
        proxy.folder,
        LIB,
        {
            "go.mod": f"module {LIB}\n\ngo 1.21\n\nrequire {CHECK} v1.0.0\n",
            "lib.go": 'package lib\n\n// Name is a name.\nconst Name = "lib"\n',
            "lib_test.go": f'package lib\n\nimport (\n\t"testing"\n\n\t"{CHECK}"\n)\n\n'
            'func TestName(t *testing.T) {\n\tif !check.Equal(Name, "lib") {\n'
            "\t\tt.Fatal(Name)\n\t}\n}\n",
        },
    )
    project.write(
        "hello/internal/named/named.go",
        f'package named\n\nimport "{LIB}"\n\n// Name is the library\'s.\n'
        "func Name() string { return lib.Name }\n",
    )
    hello = project.root / "hello"
    go_mod = hello / "go.mod"
    go_mod.write_text(go_mod.read_text() + f"\nrequire {LIB} v1.0.0\n")
    # go itself writes go.mod and go.sum, as a user's `go mod tidy` does. The two modules
    # exist only in this test's proxy: no checksum database knows them, so this one command
    # is told not to ask it (GONOSUMDB); go.sum then covers them and nothing asks it again.
    cache = tmp_path / "tidy-cache"
    env = {
        **os.environ,
        "GOPROXY": proxy.url,
        "GONOSUMDB": "gotasks.test",
        "GOMODCACHE": str(cache),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
        "GOENV": "off",
    }
    subprocess.run(["go", "mod", "tidy"], cwd=hello, env=env, check=True, capture_output=True)
    sums = (hello / "go.sum").read_text()
    assert f"{CHECK} v1.0.0 h1:" in sums, sums  # tidy keeps the zip's hash, as yq's go.sum
    project.commit_all("a library whose tests import another module")


def test_a_bundle_carries_the_modules_tidy_reads_so_ci_is_green_offline(
    project: Project,  # noqa: F811
    module_proxy: ModuleProxy,  # noqa: F811
    releases: ReleaseServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    _depend_on_a_library_whose_tests_import_another(project, module_proxy, tmp_path)
    online = machine(tmp_path / "m1", module_proxy.url, releases.base)
    bundle = tmp_path / "bundle.tar"
    ok(project.inv("setup", "--export", str(bundle), env=online))
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    # `go mod download` fetches lib's zip (hello imports it), not check's: tidy did.
    for path in (LIB, CHECK):
        assert f"gotasks-bundle/goproxy/{path}/@v/v1.0.0.zip" in names, sorted(names)

    offline = machine(tmp_path / "m2", UNREACHABLE, UNREACHABLE + "/dl")
    ok(project.inv("setup", "--from", str(bundle), env=offline))
    ci = ok(project.inv("ci", env={**offline, "GOPROXY": "off"}))
    assert "go.mod/go.sum tidy" in ci
