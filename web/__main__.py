"""Run the web app: python -m web --port 5000."""
from .cli import main

main(prog_name="python -m web")
