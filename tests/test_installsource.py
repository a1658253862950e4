"""installsource: the pip requirement that installs the running gotasks again, from every
kind of record pip writes (PEP 610 direct_url.json) and from the code actually running."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

import gotasks
from gotasks.installsource import InstallSource, file_url_path, from_direct_url, running

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def parsed(source: InstallSource) -> Requirement:
    requirement = Requirement(source.requirement)
    assert requirement.name == "gotasks"
    return requirement


@pytest.mark.parametrize(
    ("record", "kind", "url"),
    [
        (
            {
                "url": "https://git.example/team/gotasks.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "main"},
            },
            "vcs",
            f"git+https://git.example/team/gotasks.git@{COMMIT}",
        ),
        (
            {
                "url": "ssh://git@git.example/gotasks",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
                "subdirectory": "py",
            },
            "vcs",
            f"git+ssh://git@git.example/gotasks@{COMMIT}#subdirectory=py",
        ),
        (
            {"url": "https://hg.example/gotasks", "vcs_info": {"vcs": "hg", "commit_id": "abc"}},
            "vcs",
            "hg+https://hg.example/gotasks@abc",
        ),
        (
            {
                "url": "file:///opt/w/gotasks-0.2.0-py3-none-any.whl",
                "archive_info": {"hashes": {"sha256": "00"}},
            },
            "archive",
            "file:///opt/w/gotasks-0.2.0-py3-none-any.whl",
        ),
        (
            {"url": "https://files.example/gotasks-0.2.0.tar.gz", "archive_info": {}},
            "archive",
            "https://files.example/gotasks-0.2.0.tar.gz",
        ),
        ({"url": "file:///src/gotasks", "dir_info": {}}, "directory", "file:///src/gotasks"),
        (
            {"url": "file:///src/my%20tools/gotasks", "dir_info": {"editable": False}},
            "directory",
            "file:///src/my%20tools/gotasks",
        ),
    ],
)
def test_a_direct_url_record_gives_the_url_pip_installs_the_same_gotasks_from(
    record: dict[str, object], kind: str, url: str
) -> None:
    source = from_direct_url(record, "0.2.0")
    assert source.kind == kind
    assert source.requirement == f"gotasks @ {url}"
    assert parsed(source).url == url


def test_an_editable_folder_is_its_path() -> None:
    record = {"url": "file:///src/my%20tools/gotasks", "dir_info": {"editable": True}}
    assert from_direct_url(record, "0.2.0") == InstallSource("editable", "/src/my tools/gotasks")
    record["subdirectory"] = "py"
    assert from_direct_url(record, "0.2.0").requirement == "/src/my tools/gotasks/py"


@pytest.mark.parametrize(
    "record",
    [
        None,  # no direct_url.json: installed from an index
        "not a mapping",
        {},
        {"url": 3, "dir_info": {}},
        {"url": "https://example/x"},  # no *_info: not a record pip writes
        {"url": "https://example/x", "vcs_info": {"commit_id": COMMIT}},  # no vcs named
    ],
)
def test_no_record_or_one_not_understood_is_the_index_release(record: object) -> None:
    source = from_direct_url(record, "1.4.2")
    assert source == InstallSource("index", "gotasks==1.4.2")
    assert str(parsed(source).specifier) == "==1.4.2"


def test_a_vcs_record_without_a_commit_is_still_that_repository() -> None:
    source = from_direct_url({"url": "https://g.example/x.git", "vcs_info": {"vcs": "git"}}, "1")
    assert source.requirement == "gotasks @ git+https://g.example/x.git"


def test_file_urls_become_paths() -> None:
    assert file_url_path("file:///a%20b/c") == Path("/a b/c")
    assert file_url_path("file://localhost/srv/x") == Path("/srv/x")


def test_the_running_gotasks_is_named_by_the_folder_it_runs_from() -> None:
    """Under the tests the code is this checkout (PYTHONPATH or an editable install of it),
    whatever else the environment has installed: the requirement is that folder."""
    source = running()
    assert source.kind in ("editable", "checkout"), source
    package = Path(gotasks.__file__ or "").resolve().parent
    assert Path(source.requirement).resolve() == package.parent
