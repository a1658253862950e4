"""gotasks' tasks (see the gotasks README): `inv --list` shows them.

gotasks is installed (pip); this file only loads its namespace, so upgrading gotasks is
`pip install -U`, never an edit here. Tasks of your own go below, with gotasks' decorator:

    from gotasks.engine import task

    @task(cpu=1, mem="256M")
    def generate(c): ...

    ns.add_task(generate)
"""

import gotasks

ns = gotasks.namespace()
