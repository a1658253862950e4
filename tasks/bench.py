"""placeholder"""

from invoke.context import Context

from tasks.engine import task


@task(exclusive=True, pool="bench", each="module")
def bench(c: Context, module: str | None = None) -> None:
    """Run Go benchmarks."""
