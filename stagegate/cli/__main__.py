"""python -m stagegate.cli: the `stagegate` command."""
from stagegate.cli import main

main()
