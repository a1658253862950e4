"""How a run ends early: one hierarchy, each kind with the exit code it maps to."""


class Failure(Exception):
    """A failure the user should see as one line, without a traceback."""

    exit_code = 1


class UsageError(Failure):
    """Bad usage or bad config: nothing ran, nothing changed (exit 2)."""

    exit_code = 2


class TaskFailed(Failure):
    """A task ran and failed (exit 1)."""

    exit_code = 1


class Stopped(Failure):
    """The run stopped this task (Ctrl-C, SIGTERM, its timeout) while Python work ran."""

    exit_code = 130


def describe(error: OSError) -> str:
    """What the machine said, and about which file: "No space left on device (/x/y)"."""
    where = f" ({error.filename})" if error.filename else ""
    return f"{error.strerror or error}{where}"
