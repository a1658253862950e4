"""A cluster worker's run servers (gotasks/remote/warm.py, launch.py): what every task of a
run shares is loaded once on a worker, and loaded again when the tree, the arguments, the
environment or what the run read outside its checkout changed."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from helpers import Project
from test_cluster import Cluster, cluster, needs_dask, project  # noqa: F401 (fixtures)

from gotasks.core.reaper import TOKEN_VARIABLE
from gotasks.engine.placement import NODE_VARIABLE
from gotasks.lookups import stamp
from gotasks.remote.externals import changed
from gotasks.remote.launch import run_key

ARGV = ("test", "--count", "1")


def test_the_tasks_of_one_run_share_a_key_and_another_tree_args_or_env_do_not() -> None:
    env = {"PATH": "/usr/bin", "GOTASKS_FORCE": "1"}
    work = Path("/w/work")
    key = run_key(ARGV, work, env, "digest-a")
    # Each task's own variables, and the client's run token, are not the run's.
    own = {NODE_VARIABLE: "test[m2]", "GOTASKS_LEASE_DIR": "/l/2", TOKEN_VARIABLE: "f00"}
    assert run_key(ARGV, work, {**env, **own}, "digest-a") == key
    # Another tree state in the same folder (a worker's work folder), or in another one.
    assert run_key(ARGV, work, env, "digest-b") != key
    assert run_key(ARGV, Path("/w/digest-a"), env, "digest-a") != key
    assert run_key(("test",), work, env, "digest-a") != key
    assert run_key(ARGV, work, {**env, "GOTASKS_FORCE": "0"}, "digest-a") != key
    assert run_key(ARGV, work, {**env, "GOFLAGS": "-race"}, "digest-a") != key


def test_a_file_read_outside_the_checkout_that_changes_makes_the_server_stale(
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    go.write_text("#!/bin/sh\n")
    store = tmp_path / "sdk"
    store.mkdir()
    seen = [(str(go), stamp(go)), (str(store), stamp(store)), ("/nowhere", None)]
    assert changed(seen) is None
    (store / "go1.99.0").mkdir()  # an SDK installed since
    assert changed(seen) == f"{store} changed"
    seen[1] = (str(store), stamp(store))
    go.write_text("#!/bin/sh\nexit 0\n")  # another go put in its place
    assert changed(seen) == f"{go} changed"


# -- on a cluster ------------------------------------------------------------------------------

WHO = """

import os as _os

from gotasks.engine import task

WORD = "{word}"


@task(each="module")
def who(c, module=None):
    # The process that forked this task's run, and a word from this file.
    print(f"served-by {{_os.getppid()}} {{WORD}}", flush=True)


ns.add_task(who)
"""


@pytest.fixture
def who_task(project: Project) -> Iterator[Callable[[str, str], None]]:  # noqa: F811
    """write(word, extra): tasks.py with the `who` task printing `word` (and `extra` code
    before it), uncommitted: a dirty tree, as the workers get it. Put back afterwards."""
    tasks = project.root / "tasks.py"
    kept = tasks.read_text()

    def write(word: str, extra: str = "") -> None:
        tasks.write_text(kept + extra + textwrap.dedent(WHO.format(word=word)))

    yield write
    tasks.write_text(kept)


def _served(project: Project, cluster: Cluster) -> tuple[int, str, str]:  # noqa: F811
    """The process that forked the `who` task's run ("run server", or "warm server": a run
    server waits in /, the warm server in its worker's folder), and the word it printed."""
    result = project.inv("who", "--cluster", cluster.address)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(w for w in result.stdout.splitlines() if w.startswith("served-by "))
    _, pid, word = line.split()
    forker = psutil.Process(int(pid))
    assert "gotasks.remote.warm" in forker.cmdline(), forker.cmdline()
    return forker.pid, "run server" if forker.cwd() == "/" else "warm server", word


@pytest.mark.e2e
@needs_dask
def test_a_later_run_of_the_same_tree_is_served_by_the_same_server_and_a_change_is_seen(
    project: Project,  # noqa: F811
    cluster: Cluster,  # noqa: F811
    who_task: Callable[[str, str], None],
) -> None:
    who_task("first", "")
    server, kind, word = _served(project, cluster)
    assert (kind, word) == ("run server", "first")
    assert _served(project, cluster) == (server, kind, "first")  # loaded once, for both runs
    # The file changes after a first task: the next run's task sees it, from a run server
    # that loaded the new tree (the old one had the old tasks.py loaded).
    who_task("second", "")
    again, kind, word = _served(project, cluster)
    assert (kind, word) == ("run server", "second")
    assert again != server


THREADED = """

import threading as _threading
import time as _time

# A project's tasks.py that starts a thread of its own as it loads.
_threading.Thread(target=_time.sleep, args=(600,), daemon=True).start()
"""


@pytest.mark.e2e
@needs_dask
def test_a_run_whose_loading_starts_a_thread_runs_its_tasks_from_the_warm_server(
    project: Project,  # noqa: F811
    cluster: Cluster,  # noqa: F811
    who_task: Callable[[str, str], None],
) -> None:
    """A fork copies one thread: a run server refuses to serve a run whose loading left
    another running, and its tasks start from the warm server as they did before."""
    who_task("threaded", THREADED)
    forker, kind, word = _served(project, cluster)
    assert (kind, word) == ("warm server", "threaded")
    assert _served(project, cluster) == (forker, kind, word)


@pytest.mark.e2e
@needs_dask
def test_a_run_server_that_is_gone_is_replaced_on_the_next_run(
    project: Project,  # noqa: F811
    cluster: Cluster,  # noqa: F811
    who_task: Callable[[str, str], None],
) -> None:
    who_task("replaced", "")
    server, _, _ = _served(project, cluster)
    gone = psutil.Process(server)
    listening = [Path(c.laddr) for c in gone.net_connections(kind="unix") if c.laddr]
    assert listening and all(path.name == "s" for path in listening), listening
    gone.kill()  # as an idle one leaves, or the OOM killer takes one
    gone.wait(30)
    again, kind, word = _served(project, cluster)
    assert (kind, word) == ("run server", "replaced")  # a run server again, not the warm one
    assert again != server
    # Its worker removed the folder of the socket it listened on: nothing left in /tmp.
    assert not any(path.parent.exists() for path in listening), listening
