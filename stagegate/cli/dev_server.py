"""`python -m web`: serve the staff pages with werkzeug's server, for the demo (not for production).

A command line, so it sits with the others; web/__main__.py runs it."""
from __future__ import annotations

import os

import click

from stagegate.cli.server import memory_options
from workflows.demo import DEMO_PASSWORD, DEMO_USERS
from workflows.demo_integrations import DEMO_ADMIN, start_receiver, start_worker
from engine.errors import StagegateError
from engine.process_limits import limit_memory

from web import create_app

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _banner(url: str) -> str:
    cast = {**DEMO_USERS, **DEMO_ADMIN}
    width = max(len(n) for n in cast)
    users = "\n".join(f"    {name.ljust(width)}  {', '.join(roles)}" for name, roles in cast.items())
    return (f"Stagegate is running at {url}\n"
            f"  demo logins (password '{DEMO_PASSWORD}', on the `stagegate demo` database):\n{users}\n"
            f"  stop with Ctrl+C")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--database-url", envvar="STAGEGATE_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: sqlite file stagegate.db here).")
@click.option("--secure-cookies/--no-secure-cookies", default=None,
              help="Send the session cookie over HTTPS only (default: yes, unless listening on localhost).")
@click.option("--demo-integrations", is_flag=True,
              help="Run the worker (timers, mail, webhooks) in this process, and a local receiver for a gate.decided "
                   "webhook (make run does, on the demo database).")
@memory_options
def main(host, port, database_url, secure_cookies, demo_integrations, memory_limit, memory_rlimit):
    """Serve the Stagegate web app."""
    limit_memory(memory_limit, memory_rlimit)
    if secure_cookies is None:
        secure_cookies = host not in LOCAL_HOSTS  # plain http://localhost has no TLS
    try:
        app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": secure_cookies, "MIGRATE": True})
    except StagegateError as exc:  # e.g. no audit key for this database: say so, no traceback
        raise click.ClickException(str(exc))
    shown = "localhost" if host in LOCAL_HOSTS else host
    if demo_integrations:
        sg = app.extensions["stagegate"]
        if not os.environ.get("STAGEGATE_BASE_URL"):
            sg.integrations.base_url = f"http://{shown}:{port}"
        receiver = start_receiver(sg)
        start_worker(sg)
        mail = f"mail goes to {sg.integrations.smtp_host}" if sg.integrations.smtp_host else \
            f"mail is kept (no SMTP server set): each user's at http://{shown}:{port}/account/notifications"
        click.echo(f"worker running in this process; gate.decided webhooks go to {receiver}; {mail}")
    click.echo(_banner(f"http://{shown}:{port}/"))
    app.run(host=host, port=port, debug=False, use_reloader=False)
