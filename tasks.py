"""This repository's tasks: gotasks' own, as any project that adopts gotasks has them
(`inv init` writes this file). Tasks of your own go below, with gotasks' decorator:

    from gotasks.engine import task

    @task(cpu=1, mem="256M")
    def generate(c): ...

    ns.add_task(generate)
"""

import gotasks

ns = gotasks.namespace()
