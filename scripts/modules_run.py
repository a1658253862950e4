"""Which of gotasks' modules one `inv` command runs code of: `python3 scripts/modules_run.py
ci --force` in a project prints the modules whose functions were called (module and class
bodies, which only define things, do not count) and how many were loaded.

ARCHITECTURE.md's "Figures" come from it. It runs the command in this process under
sys.setprofile, so it is slow; the command's own output goes to stdout as usual."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

CO_OPTIMIZED = 0x1  # set on a function's code, not on a module's or a class body's


def main(argv: list[str]) -> int:
    import gotasks

    package = str(Path(gotasks.__file__).parent) + "/"
    called: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if (
            event == "call"
            and code.co_flags & CO_OPTIMIZED
            and code.co_filename.startswith(package)
        ):
            called.add(code.co_filename[len(package) :])

    from invoke.main import program

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        program.run(["inv", *argv], exit=False)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    loaded = [name for name in sys.modules if name.split(".")[0] == "gotasks"]
    total = sum(1 for _ in Path(package).rglob("*.py"))
    print(f"\n{len(called)} of {total} modules ran code; {len(loaded)} were loaded:")
    print("\n".join(f"  {name}" for name in sorted(called)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
