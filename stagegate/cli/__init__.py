"""`stagegate` command line: the contract scripts rely on. Same services as the web app.

One module per command group; importing them registers their commands on `main`."""
from stagegate.cli import audit, deal_files, deals, integrations, messages  # noqa: F401 - registers the commands
from stagegate.cli import metrics, people, server  # noqa: F401 - registers the commands
from stagegate.cli.common import main

__all__ = ["main"]
