"""Run the web app: python -m web --port 5000 (the command is stagegate/cli/dev_server.py)."""
from stagegate.cli.dev_server import main

main(prog_name="python -m web")
