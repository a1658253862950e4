"""Odd files where config or state should be, damaged state, and a full disk.

A config file that is not a regular file is refused in one line (exit 2); state gotasks
wrote itself (history.json, saved bench runs) that is damaged or not a regular file is set
aside with one warning and the run carries on; a full disk names the file and destroys
nothing older. Runs that could hang are guarded by subprocess timeouts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import Project, clean_env

from gotasks.core.files import NotRegularFile, read_regular_bytes
from gotasks.engine.history import MAX_PEAK_RSS, History, TaskRecord
from gotasks.go.buildinfo import read_vcs

MakeProject = Callable[..., Project]
HANG_GUARD = 240  # seconds: a run that reads a FIFO or /dev/zero never ends on its own


def make_odd(path: Path, kind: str) -> str:
    """Put a non-regular `kind` at path; returns the words the refusal must hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
        return "a FIFO"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
        return "a character device"
    if kind == "dangling":
        path.symlink_to(path.with_name("gone.target"))
        return "a dangling symlink"
    if kind == "loop":
        path.symlink_to(path.name)
        return "a symlink loop"
    if kind == "directory":
        path.mkdir()
        return "a directory"
    raise AssertionError(kind)


ODD_KINDS = ["fifo", "dev-zero", "dangling", "loop", "directory"]


def run_inv(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """inv with a hang guard well below Project.inv's."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message and "\n" not in message, f"not one line: {result.stderr!r}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warn ")]


# --- the one reader: files.read_regular_bytes -----------------------------------------------


@pytest.mark.parametrize("kind", ODD_KINDS)
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.json"
    words = make_odd(path, kind)
    # In a child with a timeout: were the FIFO opened and read, it would wait for a writer.
    probe = (
        "import sys\nfrom gotasks.core.files import read_regular_bytes\n"
        "from gotasks.core.errors import describe\n"
        "try:\n    read_regular_bytes(sys.argv[1])\nexcept OSError as e:\n"
        "    print(type(e).__name__, describe(e))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=True,
    )
    assert out.stdout.startswith(f"NotRegularFile not a regular file: {words}")
    assert out.stdout.rstrip().endswith(f" ({path})")


def test_regular_files_and_links_to_them_are_read(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_bytes(b"{}\n")
    (tmp_path / "link.json").symlink_to(target.name)
    assert read_regular_bytes(target) == read_regular_bytes(tmp_path / "link.json") == b"{}\n"
    with pytest.raises(FileNotFoundError):
        read_regular_bytes(tmp_path / "missing.json")
    assert issubclass(NotRegularFile, OSError)


# --- config files: refused in one line -----------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ODD_KINDS)
@pytest.mark.parametrize("name", ["base.yaml", "dev.yaml", "prod.yaml"])
def test_a_config_file_that_is_not_a_regular_file_is_refused(
    make_project: MakeProject, name: str, kind: str
) -> None:
    project = make_project(example=False, git=False)
    config = project.root / "config" / name
    config.unlink()
    words = make_odd(config, kind)
    result = run_inv(project, "env")
    assert_one_line_refusal(result, f"config/{name}", words)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("docker:\n  image: !!python/name:os.system\n", ["config/dev.yaml:2", "!!python/name"]),
        ("go:\n  tags: &a [*a]\n", ["config/dev.yaml:2", "recursive alias"]),
        ("a: " + "[" * 900 + "]" * 900 + "\n", ["config/dev.yaml:1", "deeper than"]),
        ("docker:\n  image: 0x_\n", ["config/dev.yaml:2", "'0x_'"]),
    ],
    ids=["python-tag", "recursive-alias", "nesting", "bad-int"],
)
def test_yaml_pyyaml_cannot_build_is_one_line_through_inv(
    make_project: MakeProject, text: str, needles: list[str]
) -> None:
    project = make_project(example=False, git=False)
    project.write("config/dev.yaml", text)
    assert_one_line_refusal(run_inv(project, "env"), *needles)


@pytest.mark.e2e
def test_an_impossible_date_is_a_string_through_inv(make_project: MakeProject) -> None:
    project = make_project(example=False, git=False)
    project.write("config/dev.yaml", "docker:\n  image: 2024-02-30\n")
    result = run_inv(project, "env")
    assert result.returncode == 0, result.stderr


# --- history.json: damage set aside, the run carries on ------------------------------------


def sample(**override: object) -> dict[str, object]:
    return {"duration": 2.0, "peak_rss": 100 * 1024**2, "cpu_seconds": 1.0, **override}


BAD_SAMPLES = {
    "peak-rss-1e308": sample(peak_rss=1e308),
    "peak-rss-huge-int": sample(peak_rss=10**400),
    "peak-rss-past-bound": sample(peak_rss=MAX_PEAK_RSS + 1),
    "duration-a-century": sample(duration=3.2e9),
    "duration-nan": sample(duration=float("nan")),
    "cpu-infinite": sample(cpu_seconds=float("inf")),
    "negative": sample(cpu_seconds=-1),
    "not-a-mapping": [1, 2],
}


@pytest.mark.parametrize("bad", BAD_SAMPLES.values(), ids=BAD_SAMPLES.keys())
def test_history_values_out_of_bounds_are_set_aside_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: object
) -> None:
    path = tmp_path / "history.json"
    doc = {"version": 1, "tasks": {"build": [sample()], "lint": [bad, sample(duration=4.0)]}}
    text = json.dumps(doc)  # NaN and Infinity as Python's json writes them
    path.write_text(text)

    history = History.load(path)
    (warning,) = warnings(capsys.readouterr().err)
    assert str(path) in warning and "history.json.corrupt" in warning
    assert (tmp_path / "history.json.corrupt").read_text() == text
    # The sound samples are kept and give estimates that compute (no OverflowError).
    assert history.samples("lint") == [history.samples("build")[0].__class__(4.0, 100 << 20, 1.0)]
    estimate = history.estimate("lint")
    assert estimate is not None and estimate.peak_rss == 100 * 1024**2

    history.save(path)
    assert History.load(path).names() == ["build", "lint"]
    assert warnings(capsys.readouterr().err) == []  # warned once, not on every run


def test_history_records_past_the_bounds_are_clamped(tmp_path: Path) -> None:
    record = TaskRecord("big", "ok", 0.0, 1.0, 0, None, 1.0, 1, 10**30, 5.0, ())
    history = History()
    history.record([record])
    history.save(tmp_path / "history.json")
    (saved,) = History.load(tmp_path / "history.json").samples("big")
    assert saved.peak_rss == MAX_PEAK_RSS


@pytest.mark.parametrize("kind", ODD_KINDS)
def test_a_history_that_is_not_a_regular_file_is_set_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = tmp_path / "history.json"
    words = make_odd(path, kind)
    history = History.load(path)
    (warning,) = warnings(capsys.readouterr().err)
    assert str(path) in warning and words in warning
    assert os.path.lexists(tmp_path / "history.json.corrupt") and not os.path.lexists(path)
    history.save(path)
    assert json.loads(path.read_text())["version"] == 2


TASKS = """

from gotasks.engine import task as _task


@_task(cpu=0.1, mem="1M")
def hello(c):
    c.run("echo hello-ran")


ns.add_task(hello)
"""


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["peak-rss-1e308", *ODD_KINDS])
def test_a_run_carries_on_past_a_damaged_history(make_project: MakeProject, kind: str) -> None:
    project = make_project(example=False, git=False)
    with (project.root / "tasks.py").open("a") as handle:
        handle.write(TASKS)
    path = project.root / ".gotasks" / "history.json"
    if kind in ODD_KINDS:
        make_odd(path, kind)
    else:
        project.write(
            ".gotasks/history.json",
            json.dumps({"version": 1, "tasks": {"hello": [BAD_SAMPLES[kind]]}}),
        )
    for run in range(2):
        result = run_inv(project, "hello")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "hello-ran" in result.stdout and "Traceback" not in result.stderr
        assert len(warnings(result.stderr)) == (1 if run == 0 else 0), result.stderr
    assert os.path.lexists(path.with_name("history.json.corrupt"))
    _, durations, _, _ = json.loads(path.read_text())["tasks"]["hello"]
    assert [d >= 0 for d in durations] == [True, True]


# --- saved bench runs ------------------------------------------------------------------------

BENCH = """package tiny

import "testing"

func BenchmarkSum(b *testing.B) {
\ttotal := 0
\tfor i := 0; i < b.N; i++ {
\t\ttotal += i
\t}
\t_ = total
}
"""
BENCH_ARGS = ("bench", "--count", "2", "--benchtime", "5x")


def bench_project(make_project: MakeProject) -> Project:
    project = make_project(example=False, git=False)
    project.write("go.mod", "module example.com/tiny\n\ngo 1.21\n")
    project.write("tiny_test.go", BENCH)
    project.git("init", "-q", "-b", "main")
    project.commit_all("tiny")
    return project


def runs_folder(project: Project) -> Path:
    (folder,) = {p.parent for p in (project.root / ".gotasks" / "bench").rglob("*.txt*")}
    return folder


def damage(path: Path, kind: str) -> str:
    """Put a damaged run at path (replacing any); the words its warning must hold."""
    path.unlink(missing_ok=True)
    if kind == "not-utf8":
        path.write_bytes(b"pkg: x\nBenchmarkSum \xff\xfe 1 ns/op\n")
        return "not UTF-8"
    if kind == "no-results":
        path.write_text("commit: x\nPASS\n")
        return "no benchmark results"
    return make_odd(path, kind)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["not-utf8", "no-results", *ODD_KINDS])
def test_a_damaged_saved_run_is_set_aside_and_the_next_sound_one_compared(
    make_project: MakeProject, kind: str
) -> None:
    project = bench_project(make_project)
    first = run_inv(project, *BENCH_ARGS)
    assert first.returncode == 0, first.stdout + first.stderr
    folder = runs_folder(project)
    (sound,) = folder.glob("*.txt")
    older = sound.with_name("0000000older.txt")
    os.replace(sound, older)  # a sound run of another commit, older than the damaged one
    damaged = folder / "ffffffnewest.txt"
    words = damage(damaged, kind)

    for run in range(2):
        result = run_inv(project, *BENCH_ARGS)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        found = [w for w in warnings(result.stderr) if str(damaged) in w]
        assert len(found) == (1 if run == 0 else 0), result.stderr
        if run == 0:
            assert words in found[0] and "ffffffnewest.txt.corrupt" in found[0]
            assert f"baseline: {older}" in result.stdout
    assert os.path.lexists(folder / "ffffffnewest.txt.corrupt")


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["not-utf8", "fifo", "dev-zero"])
def test_against_a_file_that_is_no_run_is_refused_before_running(
    make_project: MakeProject, tmp_path: Path, kind: str
) -> None:
    project = bench_project(make_project)
    chosen = tmp_path / "chosen.txt"
    chosen.write_text("x")
    words = damage(chosen, kind)
    result = run_inv(project, *BENCH_ARGS, "--against", str(chosen))
    assert_one_line_refusal(result, str(chosen), words)
    assert "Benchmark" not in result.stdout


# --- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_disk() -> Iterator[Callable[[Path, str], Path]]:
    """mount(folder, size): a tmpfs of that size at folder (root only; skipped elsewhere)."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str = "1m") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs: {out.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write until the filesystem says it is full, then a byte at a time until even that fails."""
    with (folder / "filler").open("wb", buffering=0) as handle:
        for chunk in (64 * 1024, 1):
            try:
                while True:
                    handle.write(b"\0" * chunk)
            except OSError:
                pass


def test_build_info_reads_git_on_a_full_disk(
    make_project: MakeProject, tmp_path: Path, small_disk: Callable[[Path, str], Path]
) -> None:
    disk = small_disk(tmp_path / "disk", "2m")
    repo = Project(disk)
    repo.write("go.mod", "module example.com/m\n")
    repo.git("init", "-q", "-b", "main")
    head = repo.commit_all("one")
    os.utime(disk / "go.mod", (1, 1))  # stale in the index: git status would refresh it
    repo.write("new.txt", "untracked\n")
    fill(disk)
    info = read_vcs(disk)
    assert info is not None and info.commit == head
    assert info.dirty and info.version.endswith("-dirty")
    assert not (disk / ".git" / "index.lock").exists()


@pytest.mark.e2e
def test_bench_on_a_full_disk_names_the_file_and_keeps_the_older_runs(
    make_project: MakeProject, small_disk: Callable[[Path, str], Path]
) -> None:
    project = bench_project(make_project)
    small_disk(project.root / ".gotasks", "1m")
    for _ in range(2):  # a run and, at the same commit, its ~prev
        out = run_inv(project, *BENCH_ARGS)
        assert out.returncode == 0, out.stdout + out.stderr
    folder = runs_folder(project)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert len([n for n in before if n.endswith(".txt")]) == 2, before.keys()

    fill(project.root / ".gotasks")
    result = run_inv(project, *BENCH_ARGS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (run,) = [n for n in before if "~prev" not in n]
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warn ")]
    assert len(errors) == 1 and "No space left on device" in errors[0], result.stderr
    assert str(folder / run) in errors[0]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.e2e
def test_junit_on_a_full_disk_names_the_report(
    make_project: MakeProject, tmp_path: Path, small_disk: Callable[[Path, str], Path]
) -> None:
    project = bench_project(make_project)
    disk = small_disk(tmp_path / "reports", "1m")
    report = disk / "report.xml"
    report.write_text("<old/>\n")
    fill(disk)
    result = run_inv(project, "test", "--junit", str(report))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "No space left on device" in line]
    assert len(errors) == 1 and str(report) in errors[0], result.stderr
    assert report.read_text() == "<old/>\n"
