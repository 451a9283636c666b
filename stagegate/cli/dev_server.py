"""`python -m web`: serve the staff pages on this machine under gunicorn (one process), for the demo;
`make run` runs it with --demo-integrations on the demo database.

A command line, so it sits with the others; web/__main__.py runs it."""
from __future__ import annotations

import os

import click

from stagegate.cli.server import memory_options
from workflows.demo import DEMO_PASSWORD, DEMO_PERSONAS
from workflows.demo_integrations import start_receiver, start_worker
from engine.errors import StagegateError

from web.serve import serve

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
STOP_GRACE_S = 5  # how long, after Ctrl-C, the worker may take to stop before it is ended


def ready_block(url: str, demo: bool, mail: str = "") -> str:
    """The one block printed once the server answers: where, who to sign in as (demo), how to stop."""
    lines = [f"Stagegate is ready at {url}"]
    if demo:
        width = max(len(n) for n in DEMO_PERSONAS)
        lines.append(f"  Sign in with password '{DEMO_PASSWORD}' as:")
        lines += [f"    {name.ljust(width)}  {persona}" for name, persona in DEMO_PERSONAS.items()]
        lines.append(f"  The worker runs in this process; {mail}.")
    lines.append("  Stop with Ctrl-C.")
    return "\n".join(lines)


def demo_integrations_hook(url: str):
    """In the server's process: the worker, the gate.decided webhook receiver, then the ready block."""
    def start(app):
        sg = app.extensions["stagegate"]
        if not os.environ.get("STAGEGATE_BASE_URL"):
            sg.integrations.base_url = url.rstrip("/")
        start_receiver(sg)
        start_worker(sg)
        mail = f"mail goes to {sg.integrations.smtp_host}" if sg.integrations.smtp_host else \
            f"mail is kept, not sent: see {url}account/notifications"
        click.echo(ready_block(url, True, mail))
    return start


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--database-url", envvar="STAGEGATE_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: sqlite file stagegate.db here).")
@click.option("--secure-cookies/--no-secure-cookies", default=None,
              help="Send the session cookie over HTTPS only (default: yes, unless listening on localhost).")
@click.option("--demo-integrations", is_flag=True,
              help="Run the worker (timers, mail, webhooks) in this process, and a local receiver for a gate.decided "
                   "webhook, and print the demo logins (make run does, on the demo database).")
@memory_options
def main(host, port, database_url, secure_cookies, demo_integrations, memory_limit, memory_rlimit):
    """Serve the Stagegate web app."""
    if secure_cookies is None:
        secure_cookies = host not in LOCAL_HOSTS  # plain http://localhost has no TLS
    shown = "localhost" if host in LOCAL_HOSTS else host
    url = f"http://{shown}:{port}/"
    on_app = demo_integrations_hook(url) if demo_integrations else (lambda app: click.echo(ready_block(url, False)))
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        # One process, so the demo's worker and receiver run once; gunicorn's own lines only on trouble.
        # Ctrl-C on this machine's server should end it within seconds, not after a request's grace.
        serve(database_url, bind, workers=1, secure_cookies=secure_cookies, memory_mb=memory_limit,
              rlimit=memory_rlimit, on_app=on_app, loglevel="warning", graceful_s=STOP_GRACE_S)
    except StagegateError as exc:  # e.g. no audit key for this database: say so, no traceback
        raise click.ClickException(str(exc))
