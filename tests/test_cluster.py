"""Cluster runs (`inv ci --cluster`): a Dask scheduler and two workers started with gotasks'
own wrappers (`inv cluster.scheduler`, `inv cluster.worker`), each worker in its own working
folder with its own Go build cache, standing in for two machines. Skipped, with the reason,
where Dask distributed is not installed (`pip install 'gotasks[cluster]'`; .ci/run does)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from helpers import EXAMPLE, SOURCE, Project, adopt, clean_env

from gotasks.core.errors import TaskFailed
from gotasks.engine.admission import Job, Limits
from gotasks.remote.dask import WorkerInfo
from gotasks.remote.placement import place, worker_argv
from gotasks.remote.tree import (
    TreeState,
    bundle_of,
    capture,
    fetch_commit,
    materialize,
    tree_digest,
)

try:
    import distributed
except ImportError:  # the optional extra
    distributed = None

needs_dask = pytest.mark.skipif(
    distributed is None, reason="Dask distributed is not installed: pip install 'gotasks[cluster]'"
)

# A test that sleeps where the tests can see it: the cluster run is stopped in the middle.
SLOW_TEST = """package stats

import (
\t"os"
\t"testing"
\t"time"
)

func TestSlow(t *testing.T) {
\tos.WriteFile(os.Getenv("GOTASKS_SLOW_MARK"), []byte("started"), 0o644)
\ttime.Sleep(300 * time.Second)
}
"""


# -- the pieces, without a cluster ----------------------------------------------------------


def test_a_workers_inv_gets_the_clients_flags_without_its_cluster_and_report_files() -> None:
    argv = ["ci", "--cluster", "tcp://h:1", "--env=test", "--trace", "t.json", "--report=r.html"]
    assert worker_argv(argv) == ("ci", "--env=test")
    assert worker_argv(["-e", "test", "--module", "hello", "--cluster=tcp://h:1"]) == (
        "-e",
        "test",
        "--module",
        "hello",
    )


def _workers(*names: str, cpus: float = 2.0) -> list[WorkerInfo]:
    return [WorkerInfo(f"tcp://{n}:1", n, cpus, 4 << 30, True, 8) for n in names]


def test_a_pool_caps_the_whole_cluster_not_each_worker() -> None:
    """pools: {registry: 2}: two tasks of the pool at once over every worker and this
    machine together, though each worker alone would take two; the others fill in."""
    limits = Limits(cpus=4, memory=8 << 30, jobs=0, pools={"registry": 2})
    workers = _workers("w1", "w2", "w3")
    pushes = [Job(f"push[m{i}]", 0.5, 1 << 20, pool="registry") for i in range(6)]
    tests = [Job(f"test[m{i}]", 0.5, 1 << 20) for i in range(3)]
    placed = place([], pushes + tests, [], workers, limits)
    pooled = [where for job, where in placed if job.pool]
    assert len(pooled) == 2
    assert len(placed) == 5  # the three tests too
    # One of the pool runs on w2 already, one here: nothing more of it starts anywhere.
    running = [(pushes[0], "tcp://w2:1"), (Job("upload", 0.1, 1 << 20, pool="registry"), None)]
    placed = place([], pushes[1:] + tests, running, workers, limits)
    assert [job for job, _ in placed if job.pool] == []
    assert len(placed) == 3
    # Local tasks count against it as well, and take it first when they are ready first.
    local = [Job("upload", 0.1, 1 << 20, pool="registry")]
    placed = place(local, pushes[1:], [(pushes[0], "tcp://w1:1")], workers, limits)
    assert [(job.name, where) for job, where in placed] == [("upload", None)]


def test_gotasks_own_pools_cap_each_machine_not_the_cluster() -> None:
    """pools: {test: 1} means one `go test` at a time on a machine: each worker runs one,
    and this machine's own cap is its own too. The names are configspec's defaults."""
    from gotasks.configspec import SPEC
    from gotasks.remote.placement import MACHINE_POOLS

    assert set(SPEC.fields["scheduler"].fields["pools"].default) == MACHINE_POOLS
    limits = Limits(cpus=4, memory=8 << 30, jobs=0, pools={"test": 1})
    tests = [Job(f"test[m{i}]", 1.0, 1 << 20, pool="test") for i in range(5)]
    placed = place([], tests, [], _workers("w1", "w2", "w3"), limits)
    assert sorted(where or "" for _, where in placed) == ["tcp://w1:1", "tcp://w2:1", "tcp://w3:1"]
    running = [(tests[0], "tcp://w1:1"), (Job("test[here]", 1.0, 1 << 20, pool="test"), None)]
    placed = place([], tests[1:], running, _workers("w1", "w2"), limits)
    assert [where for _, where in placed] == ["tcp://w2:1"]


def test_each_worker_takes_only_what_fits_its_own_cores() -> None:
    limits = Limits(cpus=8, memory=8 << 30, jobs=0, pools={})
    jobs = [Job(f"test[m{i}]", 1.0, 1 << 20) for i in range(5)]
    placed = place([], jobs, [], _workers("w1", "w2", cpus=1.0), limits)
    assert sorted(where or "" for _, where in placed) == ["tcp://w1:1", "tcp://w2:1"]
    busy = [(jobs[0], "tcp://w1:1")]
    placed = place([], jobs[1:], busy, _workers("w1", "w2", cpus=1.0), limits)
    assert [where for _, where in placed] == ["tcp://w2:1"]


def _repo(root: Path) -> Project:
    project = Project(root)
    root.mkdir()
    shutil.copytree(EXAMPLE, root / "hello")
    (root / ".gitignore").write_text("dist/\n")
    project.git("init", "-q", "-b", "main")
    project.commit_all("initial")
    return project


def test_a_worker_rebuilds_the_clients_dirty_tree_and_checks_its_digest(tmp_path: Path) -> None:
    """Committed, changed, deleted, untracked and ignored files: the worker's copy is the
    client's tree (its digest matches), ignored files stay behind, and a copy that differs
    is refused naming the worker."""
    project = _repo(tmp_path / "client")
    root = project.root
    (root / "hello/greet/greet.go").write_text("package greet\n// changed, not committed\n")
    (root / "hello/stats/stats_test.go").unlink()
    project.write("hello/new/new.go", "package new\n")
    (root / "hello/run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "hello/run.sh").chmod(0o755)
    project.write("dist/ignored", "not sent")
    state = capture(root, with_bundle=True)
    checkout = materialize(state, tmp_path / "worker", "w1")
    assert tree_digest(checkout) == tree_digest(root) == state.digest
    assert (checkout / "hello/greet/greet.go").read_text().endswith("not committed\n")
    assert not (checkout / "hello/stats/stats_test.go").exists()
    assert (checkout / "hello/new/new.go").exists()
    assert os.access(checkout / "hello/run.sh", os.X_OK)
    assert not (checkout / "dist").exists()
    # The same tree again: the checkout is reused, and the commit needs no bundle now.
    again = TreeState(**{**state.__dict__, "bundle": None})
    assert materialize(again, tmp_path / "worker", "w1") == checkout
    # A tree whose files are not what the client said: refused before anything runs.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"package new\n// not the client's\n"
        info = tarfile.TarInfo("hello/new/new.go")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    forged = TreeState(**{**state.__dict__, "untracked": buffer.getvalue()})
    with pytest.raises(TaskFailed, match=r"worker w2: its copy of the tree differs"):
        materialize(forged, tmp_path / "worker2", "w2")
    left = {p.name for p in (tmp_path / "worker2" / state.repository).iterdir()}
    assert left == {"repo.git", ".lock"}  # no half-made checkout


def test_an_untracked_repository_inside_goes_to_the_worker_as_its_files(tmp_path: Path) -> None:
    """git names a repository inside the tree `dir/` and nothing in it: its files are sent
    (not what it ignores, not its .git), and the worker's digest matches the client's."""
    project = _repo(tmp_path / "client")
    inner = project.root / "vendored"
    inner.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=inner, check=True)
    (inner / "go.mod").write_text("module example.com/vendored\n")
    (inner / ".gitignore").write_text("*.log\n")
    (inner / "build.log").write_text("ignored there\n")
    state = capture(project.root, with_bundle=True)
    checkout = materialize(state, tmp_path / "worker", "w1")
    assert tree_digest(checkout) == state.digest
    assert (checkout / "vendored/go.mod").read_text() == "module example.com/vendored\n"
    assert not (checkout / "vendored/build.log").exists()
    assert not (checkout / "vendored/.git").exists()


def test_a_worker_without_the_commit_and_no_bundle_says_so(tmp_path: Path) -> None:
    project = _repo(tmp_path / "client")
    state = TreeState(**{**capture(project.root, with_bundle=False).__dict__})
    with pytest.raises(TaskFailed, match=r"worker w1: does not have commit"):
        materialize(state, tmp_path / "worker", "w1")


def test_a_worker_fetches_the_commit_from_the_remote_and_needs_a_bundle_only_for_unpushed(
    tmp_path: Path,
) -> None:
    """The client's remote (a real bare repository, named by a relative path as git allows)
    is where a worker gets a pushed commit from; a commit not pushed, or no remote at all,
    is a False the client answers with a bundle."""
    project = _repo(tmp_path / "client")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    project.git("remote", "add", "origin", "../origin.git")
    project.git("push", "-q", "-u", "origin", "main")
    state = capture(project.root, with_bundle=False)
    assert state.remote == str(bare.resolve())
    assert state.bundle is None
    worker = tmp_path / "worker"
    assert fetch_commit(worker, state.repository, state.commit, state.remote)
    checkout = materialize(state, worker, "w1")
    assert tree_digest(checkout) == state.digest
    # A commit made after the push: the remote cannot give it.
    project.write("hello/later.txt", "later\n")
    project.commit_all("not pushed")
    later = capture(project.root, with_bundle=False)
    assert not fetch_commit(worker, later.repository, later.commit, later.remote)
    assert not fetch_commit(tmp_path / "w2", later.repository, later.commit, None)
    with pytest.raises(TaskFailed, match=r"worker w1: does not have commit"):
        materialize(later, worker, "w1")
    with_bundle = TreeState(**{**later.__dict__, "bundle": bundle_of(project.root)})
    assert tree_digest(materialize(with_bundle, worker, "w1")) == later.digest
    # Pushed now: fetched (a branch moved on the remote since the worker's last fetch).
    project.git("push", "-q", "origin", "main")
    assert fetch_commit(tmp_path / "w3", later.repository, later.commit, later.remote)
    # An unreachable remote is a False, not an error or a prompt.
    assert not fetch_commit(tmp_path / "w4", later.repository, later.commit, "/nonexistent.git")


# -- a local run does not pay for Dask --------------------------------------------------------


@pytest.mark.e2e
def test_inv_list_and_a_local_run_do_not_import_dask(make_project: object) -> None:
    project = make_project()  # type: ignore[operator]
    for args in (["--list"], ["lint"]):
        result = project.inv(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert result.returncode == 0, result.stderr
        imported = [
            line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line
        ]
        assert imported, "no import times: the check would pass without checking"
        assert not [m for m in imported if m.split(".")[0] in ("distributed", "dask")], args


@pytest.mark.e2e
def test_a_bad_cluster_patience_is_one_line_before_connecting(make_project: object) -> None:
    project = make_project()  # type: ignore[operator]
    # Nothing listens on port 9: a run that tried to connect first would wait 10 s for it.
    result = project.inv(
        "ci", "--cluster", "tcp://127.0.0.1:9", env={"GOTASKS_CLUSTER_PATIENCE": "soon"}
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    if distributed is None:  # whichever of the two it says first, it is one line
        assert len(lines) == 1, result.stderr
        return
    assert lines == [
        "GOTASKS_CLUSTER_PATIENCE='soon': not a number of seconds (how long a remote task may"
        " look lost before its run ends it; unset: 60)"
    ]
    assert "cannot reach" not in result.stdout + result.stderr


@pytest.mark.e2e
def test_the_worker_wrapper_offers_this_machines_cores_and_memory(make_project: object) -> None:
    from gotasks.engine.capacity import detect

    project = make_project()  # type: ignore[operator]
    result = project.inv("--dry", "cluster.worker", "tcp://10.0.0.1:8786", "--name", "w1")
    if distributed is None:
        assert result.returncode == 2
        assert "pip install 'gotasks[cluster]'" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    capacity = detect()
    line = result.stdout.strip().splitlines()[-1]
    assert "distributed.cli.dask_worker tcp://10.0.0.1:8786" in line
    assert f"--resources CPU={capacity.cpus:g},MEM=" in line
    assert "--memory-limit 0" in line and "--name w1" in line
    offered = int(line.split("MEM=")[1].split()[0])
    # The reserve is kept back (what was free moves a little between the two readings).
    assert 0 < offered < psutil.virtual_memory().total


# -- a cluster of two workers -------------------------------------------------------------------


@dataclass
class Cluster:
    address: str
    folders: list[Path]  # each worker's working folder
    processes: list[subprocess.Popen[str]]
    names: list[str]

    def running_there(self) -> list[psutil.Process]:
        """Live processes working inside a worker's folder: the tasks' inv, go and tests."""
        found = []
        for proc in psutil.process_iter():
            try:
                cwd = proc.cwd()
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
            except (psutil.Error, OSError):
                continue
            if any(cwd.startswith(str(folder)) for folder in self.folders):
                found.append(proc)
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(project: Project, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    # The scheduler and the workers stand for other machines: their own lease folder, so
    # the long-running wrappers hold nothing of the runs the tests make on this one.
    leases = project.root.parent / "service-leases"
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project.root,
        env=clean_env(**{"GOTASKS_LEASE_DIR": str(leases), **env}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_cluster(
    project: Project, folder: Path, names: list[str], extra_env: dict[str, str] | None = None
) -> Cluster:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [_start(project, "cluster.scheduler", "--port", str(port), env={})]
    folders = []
    for name in names:
        own = folder / name
        own.mkdir(parents=True)
        folders.append(own)
        # Its own Go caches, as on another machine, and one core: the caps are then
        # something a run could break (three module tasks, two workers).
        env = {
            "GOCACHE": str(own / "gocache"),
            "GOMODCACHE": str(own / "gomodcache"),
            "GOTASKS_CPUS": "1",
            **(extra_env or {}),
        }
        processes.append(
            _start(
                project,
                "cluster.worker",
                address,
                "--name",
                name,
                "--local-directory",
                str(own),
                env=env,
            )
        )
    cluster = Cluster(address, folders, processes, names)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with distributed.Client(address, timeout=5) as client:
                if len(client.scheduler_info(n_workers=-1)["workers"]) == len(names):
                    return cluster
        except OSError:
            pass
        time.sleep(1)
    _stop(processes)
    pytest.fail(f"the cluster at {address} did not start with {len(names)} workers")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("cluster") / "proj"
    root.mkdir()
    adopt(root)
    shutil.copytree(EXAMPLE, root / "hello")
    project = Project(root)
    project.git("init", "-q", "-b", "main")
    project.commit_all("initial")
    # Its remote, where the workers fetch the commit from (no bundle is sent then).
    subprocess.run(["git", "init", "-q", "--bare", str(root.parent / "origin.git")], check=True)
    project.git("remote", "add", "origin", str(root.parent / "origin.git"))
    project.git("push", "-q", "-u", "origin", "main")
    return project


@pytest.fixture(scope="module")
def cluster(project: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if distributed is None:
        pytest.skip("Dask distributed is not installed: pip install 'gotasks[cluster]'")
    started = start_cluster(project, tmp_path_factory.mktemp("workers"), ["w1", "w2"])
    yield started
    _stop(started.processes)


def _summary_rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    lines = stdout.splitlines()
    if "summary" not in lines:
        return rows
    for line in lines[lines.index("summary") + 2 :]:
        if not line.startswith("  "):
            break
        words = line.split()
        rows[words[0]] = words[1:]
    return rows


@pytest.mark.e2e
@needs_dask
def test_a_cluster_run_gives_a_local_runs_verdicts_and_sha256sums(
    project: Project, cluster: Cluster, tmp_path: Path
) -> None:
    local = project.inv("ci")
    assert local.returncode == 0, local.stdout + local.stderr
    local_sums = (project.root / "dist/SHA256SUMS").read_bytes()
    shutil.rmtree(project.root / "dist")
    trace = tmp_path / "trace.json"
    remote = project.inv("ci", "--cluster", cluster.address, "--trace", str(trace))
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert (project.root / "dist/SHA256SUMS").read_bytes() == local_sums
    for line in local_sums.decode().splitlines():  # the binaries themselves came back
        name = line.split("  ")[1]
        assert (project.root / "dist" / name).is_file()
    local_rows, remote_rows = _summary_rows(local.stdout), _summary_rows(remote.stdout)
    assert {k: v[0] for k, v in local_rows.items()} == {k: v[0] for k, v in remote_rows.items()}
    # The module tasks ran on the workers (named), ci's own body here.
    for name in ("lint[hello]", "test[hello]", "build[hello]"):
        assert remote_rows[name][-1] in cluster.names, remote.stdout
    assert remote_rows["ci"][-1] == "here"
    # Their output came back: go test's packages and the build's binaries.
    assert "ok   hello: dist/hello_linux_amd64/hello" in remote.stdout
    assert "example.com/hello/stats" in remote.stdout
    # The trace: a process track per worker, each task's slice on its worker's.
    events = json.loads(trace.read_text())["traceEvents"]
    tracks = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    slices = [e for e in events if e.get("ph") == "X" and e["name"] != "ci"]
    for event in slices:
        assert tracks[event["pid"]] == f"worker {event['args']['worker']}"
        # peaks and CPU came back from the worker
        assert event["args"]["peak_rss"] > 0
    # Each worker offers one core: tasks overlap on a worker only within it (a claim over
    # it runs alone there), whatever the three tasks claim.
    assert "w1 (cpu 1," in remote.stdout and "w2 (cpu 1," in remote.stdout, remote.stdout
    assert len(slices) == 3
    used = {e["args"]["worker"] for e in slices}
    for event in slices:
        at = event["ts"] + event["dur"] / 2
        there = [
            other
            for other in slices
            if other["pid"] == event["pid"] and other["ts"] <= at < other["ts"] + other["dur"]
        ]
        if len(there) > 1:
            assert sum(other["args"]["cpu_claim"] for other in there) <= 1.0, there
    # Each worker built with its own Go caches, and fetched the commit from the remote.
    commit = project.git("rev-parse", "HEAD").strip()
    for name, folder in zip(cluster.names, cluster.folders, strict=True):
        assert name not in used or any((folder / "gocache").iterdir()), folder
        (store,) = folder.rglob("repo.git")
        refs = subprocess.run(
            ["git", "-C", str(store), "for-each-ref", "--format=%(refname)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert f"refs/gotasks/{commit}" in refs, refs


@pytest.mark.e2e
@needs_dask
def test_a_build_again_on_a_worker_gives_a_local_builds_binaries(
    project: Project, cluster: Cluster
) -> None:
    """Built here, then on a worker with dist/ gone here, twice: whether the worker builds
    it again or finds it up to date (it built this tree before), its binaries come back,
    byte for byte a local build's."""
    local = project.inv("build")
    assert local.returncode == 0, local.stdout + local.stderr
    local_sums = (project.root / "dist/SHA256SUMS").read_bytes()
    for _ in range(2):
        shutil.rmtree(project.root / "dist")
        again = project.inv("build", "--cluster", cluster.address)
        assert again.returncode == 0, again.stdout + again.stderr
        for line in local_sums.decode().splitlines():
            assert (project.root / "dist" / line.split("  ")[1]).is_file()
        assert (project.root / "dist/SHA256SUMS").read_bytes() == local_sums


@pytest.mark.e2e
@needs_dask
def test_a_workers_own_go_env_file_does_not_change_what_it_builds(
    project: Project, tmp_path: Path
) -> None:
    """A worker whose `go env -w` file says GOFLAGS=-buildvcs=false (as this machine's own
    does) would leave out the vcs.* stamps the client's build has (its GOENV is off): it
    builds with the client's Go settings instead, and keeps its own for the rest (here a
    GOPROXY). The file is the worker's own, in a temp folder: the machine's is not touched."""
    own = tmp_path / "worker-go-env"
    own.write_text("GOFLAGS=-buildvcs=false\nGOPROXY=off\n")
    local = project.inv("build")
    assert local.returncode == 0, local.stdout + local.stderr
    local_sums = (project.root / "dist/SHA256SUMS").read_bytes()
    stamped = subprocess.run(
        ["go", "version", "-m", str(next((project.root / "dist").glob("hello_linux_amd64/*")))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "vcs.revision=" in stamped  # else the test could not tell the two apart
    odd = start_cluster(project, tmp_path / "workers", ["ownenv"], {"GOENV": str(own)})
    try:
        shutil.rmtree(project.root / "dist")
        remote = project.inv("build", "--cluster", odd.address)
        # What its tasks had as their go env file (gone with the worker's folder).
        used = [p.read_text() for p in (tmp_path / "workers").rglob("goenv-*")]
    finally:
        _stop(odd.processes)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert (project.root / "dist/SHA256SUMS").read_bytes() == local_sums
    assert own.read_text() == "GOFLAGS=-buildvcs=false\nGOPROXY=off\n"  # left as it was
    assert used == ["GOPROXY=off\n"]


@pytest.mark.e2e
@needs_dask
def test_a_dirty_tree_is_what_the_workers_run(project: Project, cluster: Cluster) -> None:
    greet = project.root / "hello/greet/greet.go"
    kept = greet.read_text()
    greet.write_text(
        kept.replace('"Hello, " + who', '"Goodbye, " + who')
    )  # uncommitted: breaks its test
    try:
        result = project.inv("test", "--cluster", cluster.address)
    finally:
        greet.write_text(kept)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Goodbye" in result.stdout  # the failing test's own output, sent back
    assert "test[hello]" in result.stderr.strip().splitlines()[-1]


@pytest.mark.e2e
@needs_dask
def test_a_claim_no_worker_can_hold_fails_at_once(project: Project, cluster: Cluster) -> None:
    tasks = project.root / "tasks.py"
    kept = tasks.read_text()
    tasks.write_text(
        kept
        + "\nfrom gotasks.engine import task\n\n\n"
        + '@task(mem="64T", each="module")\n'
        + "def huge(c, module=None):\n"
        + '    c.run("echo never ran")\n\n\n'
        + "ns.add_task(huge)\n"
    )
    try:
        result = project.inv("huge", "--cluster", cluster.address)
    finally:
        tasks.write_text(kept)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "task huge[hello] claims mem=64T" in lines[0]
    assert "largest worker (w" in lines[0] and "MEM=" in lines[0]
    assert "never ran" not in result.stdout


def _slow_run(
    project: Project,
    cluster: Cluster,
    tmp_path: Path,
    seconds: int = 300,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    """`inv test --cluster` with a test that sleeps `seconds`, once that test has started on a
    worker (its mark exists), or the run ended, or 300 s went by."""
    mark = tmp_path / "slow.started"
    # Untracked: it reaches the workers too.
    test = SLOW_TEST.replace("300 * time.Second", f"{seconds} * time.Second")
    project.write("hello/stats/slow_test.go", test)
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", "test", "--cluster", cluster.address],
        cwd=project.root,
        env=clean_env(GOTASKS_SLOW_MARK=str(mark), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not mark.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return run, mark


def _assert_started(run: subprocess.Popen[str], mark: Path) -> None:
    """The slow test started on a worker; else what the run said (it ended early)."""
    if mark.exists():
        return
    if run.poll() is None:
        run.kill()
    out, err = run.communicate(timeout=60)
    raise AssertionError(f"the slow test never started on a worker:\n{out[-3000:]}{err[-3000:]}")


def _wait_gone(cluster: Cluster, seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    left = cluster.running_there()
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = cluster.running_there()
    return left


@pytest.mark.e2e
@needs_dask
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_stopped_client_leaves_no_process_on_any_worker(
    project: Project, cluster: Cluster, tmp_path: Path, how: signal.Signals
) -> None:
    """Ctrl-C cancels every task, and a client killed outright loses its tasks too: the
    watcher in each running task ends its process group on the worker."""
    try:
        run, mark = _slow_run(project, cluster, tmp_path)
        _assert_started(run, mark)
        assert cluster.running_there(), "nothing of the task found in the workers' folders"
        run.send_signal(how)
        out, err = run.communicate(timeout=120)
        if how == signal.SIGINT:
            assert run.returncode == 130, out + err
        left = _wait_gone(cluster, 120)
        assert not left, [p.cmdline() for p in left]
    finally:
        (project.root / "hello/stats/slow_test.go").unlink(missing_ok=True)


def _is_nanny(proc: psutil.Process | None) -> bool:
    return proc is not None and "distributed.cli.dask_worker" in proc.cmdline()


@pytest.mark.e2e
@needs_dask
def test_a_worker_killed_mid_task_reruns_it_elsewhere(
    project: Project, cluster: Cluster, tmp_path: Path
) -> None:
    try:
        run, mark = _slow_run(project, cluster, tmp_path, seconds=15)
        _assert_started(run, mark)
        # The task's inv (forked by the worker's warm server, or started by the worker), and
        # the Dask worker process running the task: the child of its nanny up its parents.
        runs = ("invoke", "gotasks.remote.warm")
        invs = [p for p in cluster.running_there() if any(w in p.cmdline() for w in runs)]
        assert invs
        task_inv = invs[0]
        dask_worker = task_inv.parent()
        while dask_worker is not None and not _is_nanny(dask_worker.parent()):
            dask_worker = dask_worker.parent()
        assert dask_worker is not None
        # The task's inv and everything under it (go test, the test binary): they must not
        # outlive the worker that ran them (a session of their own, no signal reaches them).
        orphans = [task_inv, *task_inv.children(recursive=True)]
        assert any("go" in " ".join(p.cmdline()) for p in orphans[1:]), orphans
        # And the servers it was forked from (the run's server and the warm one, or the
        # warm one alone): they leave with their worker too.
        parents = task_inv.parents()
        servers = parents[: parents.index(dask_worker)]
        assert servers and all("gotasks.remote.warm" in p.cmdline() for p in servers), servers
        mark.unlink()
        dask_worker.kill()
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, out + err
        assert "running again on" in out, out
        _, alive = psutil.wait_procs(orphans + servers, timeout=60)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        (project.root / "hello/stats/slow_test.go").unlink(missing_ok=True)
        _wait_gone(cluster, 60)


@pytest.mark.e2e
@needs_dask
def test_a_task_no_worker_can_take_any_more_ends_the_run(project: Project, tmp_path: Path) -> None:
    """The only worker dies mid-task, nanny and all: Dask would keep the task waiting for a
    worker for ever; the run gives up on it after its patience (here 5 s), with one line."""
    lone = start_cluster(project, tmp_path / "workers", ["lone"])
    try:
        run, mark = _slow_run(project, lone, tmp_path, env={"GOTASKS_CLUSTER_PATIENCE": "5"})
        _assert_started(run, mark)
        os.killpg(lone.processes[1].pid, signal.SIGKILL)  # the worker wrapper's session
        out, err = run.communicate(timeout=300)
    finally:
        (project.root / "hello/stats/slow_test.go").unlink(missing_ok=True)
        _stop(lone.processes)
    assert run.returncode == 1, out + err
    last = err.strip().splitlines()[-1]
    assert "test[hello]: lost on the cluster: no worker can take it" in last, err
    assert _wait_gone(lone, 60) == []


@pytest.mark.e2e
@needs_dask
def test_a_worker_with_another_go_is_refused(project: Project, tmp_path: Path) -> None:
    """The worker's own go answers (its PATH), not this machine's: here a go that says it is
    another release, and runs the real one for everything else."""
    real = shutil.which("go")
    assert real is not None
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "go").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "env GOVERSION" ]; then echo go1.19.99; exit 0; fi\n'
        f'exec {real} "$@"\n'
    )
    (fake / "go").chmod(0o755)
    line = _refusal(project, tmp_path, "oldgo", {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    assert "worker oldgo" in line and "runs go go1.19.99" in line, line


@pytest.mark.e2e
@needs_dask
def test_a_worker_that_would_build_otherwise_is_refused(project: Project, tmp_path: Path) -> None:
    """A worker with no C compiler on its PATH: go's CGO_ENABLED there is 0, here 1 (the
    client's Go settings go to the worker, but a compiler does not), so its builds would
    differ: refused at connect, naming the variable."""
    if (
        subprocess.run(["go", "env", "CGO_ENABLED"], capture_output=True, text=True).stdout.strip()
        != "1"
    ):
        pytest.skip("this machine's go has cgo off: nothing for the worker to differ in")
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    for tool in ("go", "git"):
        found = shutil.which(tool)
        assert found is not None
        (bare / tool).symlink_to(found)
    line = _refusal(project, tmp_path, "nocc", {"PATH": str(bare)})
    assert "worker nocc" in line and "builds with CGO_ENABLED='0'" in line, line
    assert "this machine CGO_ENABLED='1'" in line, line


@pytest.mark.e2e
@needs_dask
def test_a_worker_running_another_gotasks_is_refused(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(SOURCE / "gotasks", other / "gotasks", ignore=shutil.ignore_patterns("*.pyc"))
    init = other / "gotasks" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+'))
    line = _refusal(project, tmp_path, "old", {"PYTHONPATH": f"{other}{os.pathsep}{SOURCE}"})
    assert "worker old" in line and "gotasks 9.9.9+" in line, line


def _refusal(project: Project, tmp_path: Path, worker: str, env: dict[str, str]) -> str:
    """The one line `inv lint --cluster` exits 2 with, on a cluster of one worker
    started with `env`."""
    odd = start_cluster(project, tmp_path / "workers", [worker], env)
    try:
        result = project.inv("lint", "--cluster", odd.address)
    finally:
        _stop(odd.processes)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
