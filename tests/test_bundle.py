"""Setup bundles: what is taken from a module cache (go.sum-checked), written whole, and
unpacked only when safe and matching go.sum and the SDK checksum."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from helpers import GOPROXY_DATA, REAL_GO_SUM, clean_env, zip_with_a_line_added

from gotasks.core.errors import Stopped
from gotasks.go.bundle import BundledSdk, BundleError, Manifest, select_files, write_bundle
from gotasks.go.bundleunpack import Unpacking, unpack
from gotasks.go.gosum import SumLine, parse_go_sum
from gotasks.go.sumcheck import background

GO_SUM = (
    REAL_GO_SUM
    + """\
golang.org/x/sys v0.28.0/go.mod h1:/VUhepiaJMQUp4+oa/7Zr1D23ma6VTLIYjOOTFZPUcA=
"""
)
LINES = parse_go_sum(GO_SUM)


def where(line: SumLine) -> str:
    return f"go.sum:{LINES.index(line) + 1}"


def sdk_archive(folder: Path) -> tuple[Path, BundledSdk]:
    archive = folder / "go1.26.8.linux-amd64.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"not really an SDK, but bytes with a checksum")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    sdk = BundledSdk("go1.26.8", "linux", "amd64", archive.name, digest, archive.stat().st_size)
    return archive, sdk


def make_bundle(tmp_path: Path, download: Path = GOPROXY_DATA) -> Path:
    selected = select_files(LINES, download, where)
    archive, sdk = sdk_archive(tmp_path / "sdkcache")
    out = tmp_path / "b.tar"
    write_bundle(out, Manifest(sdk, selected.modules), archive, download, selected.files)
    return out


def test_select_takes_what_go_sum_lists_and_the_cache_holds(tmp_path: Path) -> None:
    selected = select_files(LINES, GOPROXY_DATA, where)
    assert selected.files == [
        "github.com/mattn/go-isatty/@v/v0.0.24.info",
        "github.com/mattn/go-isatty/@v/v0.0.24.mod",
        "github.com/mattn/go-isatty/@v/v0.0.24.zip",
        "github.com/pkg/errors/@v/v0.9.1.info",
        "github.com/pkg/errors/@v/v0.9.1.mod",
        "github.com/pkg/errors/@v/v0.9.1.zip",
    ]
    assert selected.modules == [
        "github.com/mattn/go-isatty@v0.0.24",
        "github.com/pkg/errors@v0.9.1",
    ]
    assert selected.absent == ["golang.org/x/sys/@v/v0.28.0.mod"]


def test_select_refuses_a_cache_file_that_does_not_match_go_sum(tmp_path: Path) -> None:
    cache = tmp_path / "download"
    shutil.copytree(GOPROXY_DATA, cache)
    mod = cache / "github.com/pkg/errors/@v/v0.9.1.mod"
    mod.write_text(mod.read_text() + "// changed\n")
    with pytest.raises(BundleError, match=r"v0\.9\.1\.mod: h1:.* does not match go\.sum:4"):
        select_files(LINES, cache, where)


def test_round_trip_unpacks_a_folder_go_can_use_as_goproxy(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed into place
    unpacked = unpack(bundle, tmp_path / "state" / "bundle", LINES, where)
    assert unpacked.manifest.sdk is not None and unpacked.manifest.sdk.version == "go1.26.8"
    assert unpacked.sdk_archive is not None and unpacked.sdk_archive.is_file()
    zip_file = unpacked.proxy / "github.com/pkg/errors/@v/v0.9.1.zip"
    assert (
        zip_file.read_bytes() == (GOPROXY_DATA / "github.com/pkg/errors/@v/v0.9.1.zip").read_bytes()
    )
    assert unpacked.goproxy() == f"{unpacked.proxy.as_uri()},off"
    # Again, over the first: replaced whole, no scratch left beside it.
    unpack(bundle, tmp_path / "state" / "bundle", LINES, where)
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["bundle"]


def _edit(
    bundle: Path,
    out: Path,
    name: str,
    data: bytes | None,
    extra: list[tarfile.TarInfo] | None = None,
) -> Path:
    with tarfile.open(bundle) as old, tarfile.open(out, "w") as new:
        for info in old.getmembers():
            handle = old.extractfile(info)
            content = handle.read() if handle else b""
            if info.name == name and data is not None:
                content = data
                info.size = len(content)
            new.addfile(info, io.BytesIO(content))
        for info in extra or []:
            new.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return out


def test_a_tampered_mod_file_refuses_the_bundle_naming_it(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    name = "gotasks-bundle/goproxy/github.com/mattn/go-isatty/@v/v0.0.24.mod"
    bad = _edit(bundle, tmp_path / "bad.tar", name, b"module github.com/mattn/go-isatty\n")
    dest = tmp_path / "state" / "bundle"
    with pytest.raises(
        BundleError, match=r"goproxy/github.com/mattn/go-isatty/@v/v0\.0\.24\.mod: .*go\.sum:2"
    ):
        unpack(bad, dest, LINES, where)
    assert not dest.exists() and not list((tmp_path / "state").iterdir())


def test_a_previous_unpack_survives_a_refused_one(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    dest = tmp_path / "state" / "bundle"
    unpack(bundle, dest, LINES, where)
    bad = _edit(
        bundle, tmp_path / "bad.tar", "gotasks-bundle/sdk/go1.26.8.linux-amd64.tar.gz", b"x"
    )
    with pytest.raises(BundleError, match=r"sdk/go1\.26\.8\.linux-amd64\.tar\.gz: SHA-256"):
        unpack(bad, dest, LINES, where)
    assert (dest / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("kind", "name", "reason"),
    [
        (tarfile.SYMTYPE, "gotasks-bundle/goproxy/link", "symbolic link"),
        (tarfile.LNKTYPE, "gotasks-bundle/goproxy/hard", "hard link"),
        (tarfile.REGTYPE, "gotasks-bundle/../escape", "leaves"),
        (tarfile.REGTYPE, "/etc/owned", "absolute"),
        (tarfile.REGTYPE, "elsewhere/file", "not under"),
        (tarfile.FIFOTYPE, "gotasks-bundle/goproxy/fifo", "fifo"),
    ],
)
def test_unsafe_members_refuse_the_whole_bundle(
    tmp_path: Path, kind: bytes, name: str, reason: str
) -> None:
    bundle = make_bundle(tmp_path)
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = 3 if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    bad = _edit(bundle, tmp_path / "bad.tar", "", None, [info])
    with pytest.raises(BundleError, match=reason):
        unpack(bad, tmp_path / "state" / "bundle", LINES, where)
    assert not list((tmp_path / "state").iterdir())
    assert not (tmp_path / "escape").exists()


def test_unpacking_stops_past_its_size_bound(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    with pytest.raises(BundleError, match="past 1000 bytes"):
        unpack(bundle, tmp_path / "state" / "bundle", LINES, where, max_bytes=1000)
    assert not list((tmp_path / "state").iterdir())


@pytest.mark.parametrize(
    "manifest",
    [b"{", b'{"format": 99}', json.dumps({"format": 1, "sdk": {"version": "go1"}}).encode()],
)
def test_a_bad_manifest_is_one_line(tmp_path: Path, manifest: bytes) -> None:
    bundle = make_bundle(tmp_path)
    bad = _edit(bundle, tmp_path / "bad.tar", "gotasks-bundle/manifest.json", manifest)
    with pytest.raises(BundleError, match="manifest"):
        unpack(bad, tmp_path / "state" / "bundle", LINES, where)


def test_a_sdk_file_name_with_a_path_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    data = json.loads(
        Manifest(BundledSdk("go1.26.8", "linux", "amd64", "../x", "0", 1), []).to_json()
    )
    bad = _edit(
        bundle, tmp_path / "bad.tar", "gotasks-bundle/manifest.json", json.dumps(data).encode()
    )
    with pytest.raises(BundleError, match="not a plain file name"):
        unpack(bad, tmp_path / "state" / "bundle", LINES, where)


def test_a_file_no_go_sum_line_covers_is_not_served(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    fewer = [line for line in LINES if line.path != "github.com/mattn/go-isatty"]
    unpacked = unpack(bundle, tmp_path / "state" / "bundle", fewer, where)
    assert not (unpacked.proxy / "github.com/mattn/go-isatty/@v/v0.0.24.zip").exists()
    assert (unpacked.proxy / "github.com/pkg/errors/@v/v0.9.1.zip").is_file()


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such file"):
        unpack(tmp_path / "missing.tar", tmp_path / "d", LINES, where)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\0" * 10)
    with pytest.raises(BundleError):
        unpack(junk, tmp_path / "d", LINES, where)


def test_the_module_files_are_checked_while_the_sdk_is_used_and_refuse_at_commit(
    tmp_path: Path,
) -> None:
    bundle = make_bundle(tmp_path)
    name = "gotasks-bundle/goproxy/github.com/pkg/errors/@v/v0.9.1.zip"
    with tarfile.open(bundle) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        bad = _edit(bundle, tmp_path / "bad.tar", name, zip_with_a_line_added(handle.read()))
    dest = tmp_path / "state" / "bundle"
    refused = pytest.raises(BundleError, match=r"goproxy/github.com/pkg/errors/@v/v0\.9\.1\.zip")
    with refused, Unpacking(bad, dest, LINES, where) as unpacking:
        # Before the module checks end: the SDK archive, checked, usable.
        assert unpacking.pending is not None
        assert unpacking.pending.sdk_archive is not None
        assert unpacking.pending.sdk_archive.is_file()
        unpacking.commit()
    assert not dest.exists() and not list((tmp_path / "state").iterdir())


def test_the_module_files_are_checked_in_a_process_that_a_stop_ends(tmp_path: Path) -> None:
    """The hashing runs in a process of its own (not on threads holding the GIL the SDK's
    extraction needs); a run stopped while it waits ends that process and leaves nothing."""
    dest = tmp_path / "state" / "bundle"

    stop: list[str] = []

    def check_stop() -> None:
        if stop:
            raise Stopped(stop[0])

    with Unpacking(make_bundle(tmp_path), dest, LINES, where, check_stop) as unpacking:
        check = unpacking._check
        assert check is not None and check.process is not None
        child = check.process
        assert child.pid != os.getpid()
        stop.append("interrupted")
        with pytest.raises(Stopped):
            unpacking.checked()
    assert child.returncode is not None  # ended and reaped
    assert not dest.exists() and not list((tmp_path / "state").iterdir())


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no process priorities here")
def test_the_checking_process_is_backgrounded_only_where_it_can_be_brought_back() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        normal = background(child.pid)
        if normal is None:  # not allowed to raise a priority back here: left as it was
            assert (
                os.getpriority(os.PRIO_PROCESS, child.pid) <= os.getpriority(os.PRIO_PROCESS, 0) + 1
            )
        else:
            assert normal == os.getpriority(os.PRIO_PROCESS, 0)
            assert os.getpriority(os.PRIO_PROCESS, child.pid) == 19
            os.setpriority(os.PRIO_PROCESS, child.pid, normal)
            assert os.getpriority(os.PRIO_PROCESS, child.pid) == normal
    finally:
        child.kill()
        child.wait()


def test_seed_lays_the_checked_files_out_as_go_leaves_them(tmp_path: Path) -> None:
    unpacked = unpack(make_bundle(tmp_path), tmp_path / "state" / "bundle", LINES, where)
    download = tmp_path / "gomodcache" / "cache" / "download"
    kept = download / "github.com/mattn/go-isatty/@v/v0.0.24.mod"
    kept.parent.mkdir(parents=True)
    kept.write_text("left as it is\n")
    assert unpacked.seed(download, LINES) == 3  # both zips and one .mod; x/sys not bundled
    errors = download / "github.com/pkg/errors/@v"
    for ext in ("zip", "mod", "info"):
        assert (errors / f"v0.9.1.{ext}").read_bytes() == (
            GOPROXY_DATA / f"github.com/pkg/errors/@v/v0.9.1.{ext}"
        ).read_bytes()
    by_file = {line.file: line.hash for line in LINES}
    assert (errors / "v0.9.1.ziphash").read_text() == by_file["github.com/pkg/errors/@v/v0.9.1.zip"]
    assert not (errors / "v0.9.1.modhash").exists()
    assert kept.read_text() == "left as it is\n"
    assert not [p for p in download.rglob("*") if p.name.endswith(".tmp")]
    assert unpacked.seed(download, LINES) == 0  # all there now


@pytest.mark.e2e
def test_go_takes_a_seeded_module_cache_with_no_network(tmp_path: Path) -> None:
    unpacked = unpack(make_bundle(tmp_path), tmp_path / "state" / "bundle", LINES, where)
    cache = tmp_path / "gomodcache"
    unpacked.seed(cache / "cache" / "download", LINES)
    module = tmp_path / "m"
    module.mkdir()
    (module / "go.mod").write_text(
        "module example.com/m\n\ngo 1.22\n\nrequire github.com/pkg/errors v0.9.1\n"
    )
    (module / "go.sum").write_text(
        "".join(line for line in REAL_GO_SUM.splitlines(keepends=True) if "pkg/errors" in line)
    )
    env = {
        **clean_env(),
        "GOMODCACHE": str(cache),
        "GOPROXY": "off",
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
    }
    out = subprocess.run(
        ["go", "mod", "download", "-json"], cwd=module, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"Error"' not in out.stdout
    assert (cache / "github.com/pkg/errors@v0.9.1/errors.go").is_file()
