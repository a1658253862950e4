"""A task's process trees as the monitor samples them: one read of the process table finds
every process of a task's groups, its children and a re-parented grandchild alike."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil

from gotasks.engine.procs import TaskProcesses, _table_from_psutil, process_table


def test_one_read_of_the_process_table_finds_a_tasks_whole_tree() -> None:
    # A group leader with a child, and a grandchild that double-forked away (re-parented,
    # still in the group).
    leader = subprocess.Popen(["sh", "-c", "sleep 30 & (sleep 31 &); wait"], start_new_session=True)
    try:
        processes = TaskProcesses("t", [leader.pid])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            table = process_table()
            group = set(table.groups.get(leader.pid, []))
            # Until the subshell that forked the grandchild is gone: three processes.
            if len(group) == 3 and group - {leader.pid, *table.children.get(leader.pid, [])}:
                break
            time.sleep(0.05)
        members = set(table.groups[leader.pid])
        assert leader.pid in members and len(members) == 3
        # The child is the leader's; the re-parented grandchild is not, yet is found.
        (orphan,) = members - {leader.pid, *table.children.get(leader.pid, [])}
        assert psutil.Process(orphan).ppid() != leader.pid
        # psutil's walk (where there is no /proc) sees the same groups.
        assert set(_table_from_psutil().groups[leader.pid]) == members
        assert {p.pid for p in processes.tree()} == members
        assert processes.sample(table) > 0
        assert processes.peak_rss > 0 and set(processes._cpu_by_pid) == members
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
