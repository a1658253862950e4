"""`python -m gotasks`: the `gotasks` command (gotasks/main.py)."""

from gotasks.main import main

main()
