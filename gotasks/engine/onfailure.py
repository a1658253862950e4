"""What a run does after a task fails: stop starting tasks (fail fast) or keep going.

`ci` keeps going by default, as separate CI jobs would each report their own verdict;
every other run stops at the first failure. Flags beat GOTASKS_* variables, which beat the
config's `scheduler.keep_going`, which beats the tasks' own default.
"""

from __future__ import annotations

from collections.abc import Mapping

from gotasks.core.errors import UsageError
from gotasks.engine.run import env_name

TRUTHY = ("1", "true", "yes", "on")


def keeps_going(
    keep_going_flag: bool,
    fail_fast_flag: bool,
    environ: Mapping[str, str],
    configured: bool,
    tasks_keep_going: bool,
) -> bool:
    """Whether tasks that do not depend on a failed one still start after it failed.

    `configured` is `scheduler.keep_going`; `tasks_keep_going` whether a task of the run
    asks for it (`@task(keep_going=True)`, as ci does). Both ways at one level is a
    UsageError: there is no telling which was meant.
    """
    if keep_going_flag and fail_fast_flag:
        raise UsageError("--keep-going and --fail-fast say opposite things: give one of them")
    if keep_going_flag or fail_fast_flag:
        return keep_going_flag
    keep_name, fail_fast_name = env_name("KEEP_GOING"), env_name("FAIL_FAST")
    keep = environ.get(keep_name, "").strip().lower() in TRUTHY
    fail_fast = environ.get(fail_fast_name, "").strip().lower() in TRUTHY
    if keep and fail_fast:
        raise UsageError(f"{keep_name} and {fail_fast_name} are both set: unset one of them")
    if keep or fail_fast:
        return keep
    return configured or tasks_keep_going
