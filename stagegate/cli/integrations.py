"""`stagegate webhook ...`, `stagegate mail ...` and `stagegate status`: what administrators do on
the Admin pages, from the shell (as the operator, or `--user` an Administrator)."""
from __future__ import annotations

import json

import click

from engine.queries import integrations as views
from engine.services import notification_settings as notif
from engine.services import webhooks
from engine.services.outbox import WEBHOOK_EVENTS
from engine.services.retention import prune as prune_outbox
from stagegate.cli.common import DATABASE_ID as ID
from stagegate.cli.common import main, operator_name, run



def actor(user):
    """The acting Administrator (--user), or the operator at the shell."""
    return user or operator_name()

as_user = click.option("--user", "user_name", default=None, help="Act as this Administrator (default: the operator).")

@main.group()
def webhook():
    """Webhook subscriptions: events POSTed to a URL, signed per Standard Webhooks."""

@webhook.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, type=click.Choice(WEBHOOK_EVENTS),
              help="An event type to send; repeatable.")
@click.option("--description", default=None)
@as_user
@click.pass_obj
def add(obj, url, events, description, user_name):
    """Subscribe URL to events; prints the signing secret once."""
    def go():
        r = webhooks.create_subscription(obj.sg, actor(user_name), url, list(events), description)
        click.echo(f"subscription {r['id']}: {r['url']} <- {', '.join(r['event_types'])}")
        click.echo(f"signing secret (shown once): {r['secret']}")
    run(go)

@webhook.command("list")
@click.option("--json", "as_json", is_flag=True)
@as_user
@click.pass_obj
def list_(obj, as_json, user_name):
    """Subscriptions with their deliveries by state."""
    def go():
        rows = views.subscriptions(obj.sg, actor(user_name))
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for r in [] if as_json else rows:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(r["deliveries"].items())) or "no deliveries"
            click.echo(f"{r['id']}: {r['url']} [{'active' if r['active'] else 'paused'}] "
                       f"{', '.join(r['event_types'])} ({counts})")
    run(go)

@webhook.command("update")
@click.argument("sub_id", type=ID)
@click.option("--url", default=None)
@click.option("--event", "events", multiple=True, type=click.Choice(WEBHOOK_EVENTS))
@click.option("--pause/--resume", "paused", default=None)
@as_user
@click.pass_obj
def update(obj, sub_id, url, events, paused, user_name):
    """Change a subscription's URL or events, or pause/resume it."""
    def go():
        r = webhooks.update_subscription(obj.sg, actor(user_name), sub_id, url, list(events) or None,
                                         None if paused is None else not paused)
        click.echo(f"subscription {r['id']}: {r['url']} [{'active' if r['active'] else 'paused'}]")
    run(go)

@webhook.command("rotate-secret")
@click.argument("sub_id", type=ID)
@as_user
@click.pass_obj
def rotate(obj, sub_id, user_name):
    """A new signing secret (printed once); the old one also signs for a day."""
    def go():
        r = webhooks.rotate_secret(obj.sg, actor(user_name), sub_id)
        click.echo(f"new signing secret (shown once): {r['secret']}; the old one also signs until tomorrow")
    run(go)

@webhook.command("log")
@click.argument("sub_id", type=ID)
@click.option("--json", "as_json", is_flag=True)
@as_user
@click.pass_obj
def log(obj, sub_id, as_json, user_name):
    """A subscription's deliveries, newest first, with every attempt."""
    def go():
        r = views.delivery_log(obj.sg, actor(user_name), sub_id)
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        for d in r["deliveries"]:
            click.echo(f"delivery {d['id']} {d['type']} deal {d['instance_id']} {d['event_id']}: {d['state']}, "
                       f"{len(d['attempts'])} attempts" + (f"; last error: {d['last_error']}" if d["last_error"] else ""))
    run(go)

@webhook.command("replay")
@click.argument("sub_id", type=ID)
@click.option("--delivery", "delivery_id", type=ID, default=None, help="One delivery (default: every dead one).")
@as_user
@click.pass_obj
def replay(obj, sub_id, delivery_id, user_name):
    """Send deliveries again, under their events' ids."""
    def go():
        r = webhooks.replay(obj.sg, actor(user_name), sub_id, delivery_id)
        click.echo(f"{len(r['replayed'])} deliveries queued again")
    run(go)

@main.group()
def outbox():
    """The outbox of events sent to webhooks and mail."""

@outbox.command("prune")
@click.option("--older-than-days", "days", default=30, show_default=True, type=click.IntRange(1))
@as_user
@click.pass_obj
def prune(obj, days, user_name):
    """Drop events whose deliveries are all finished, and finished mail, older than the given days."""
    def go():
        r = prune_outbox(obj.sg, actor(user_name), days)
        click.echo(f"dropped {r['events']} events, {r['deliveries']} deliveries, {r['attempts']} attempts, "
                   f"{r['mail']} mails older than {days} days")
    run(go)

@main.group()
def mail():
    """People's mail settings and the mail log."""

@mail.command("settings")
@click.argument("name")
@click.option("--email", default=None, help="Mail address ('' clears it).")
@click.option("--task-mail", type=click.Choice(notif.TASK_MAIL), default=None,
              help="Tasks opening for their roles: at once, daily digest, or not at all.")
@as_user
@click.pass_obj
def settings(obj, name, email, task_mail, user_name):
    """Show or set NAME's mail address and task mail choice."""
    def go():
        r = notif.set_settings(obj.sg, actor(user_name), name, email, task_mail) \
            if email is not None or task_mail else notif.settings_of(obj.sg, actor(user_name), name)
        click.echo(f"{r['user']}: {r['email'] or 'no address'}, task mail {r['task_mail']}")
    run(go)

@mail.command("log")
@click.option("--to", "to_user", default=None, help="Only mail to this user.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@as_user
@click.pass_obj
def mail_log(obj, to_user, limit, user_name):
    """The newest mail, with its state (sent, failed, logged when no SMTP server is set)."""
    def go():
        for m in views.mail_log(obj.sg, actor(user_name), to_user, limit):
            click.echo(f"{m['created_at']} {m['state']:<10} to {m['user']} <{m['address'] or '-'}>: {m['subject']}")
    run(go)

@main.command("status")
@click.option("--json", "as_json", is_flag=True)
@as_user
@click.pass_obj
def status(obj, as_json, user_name):
    """Workers' last passes, the outbox backlog, mail and webhook deliveries by state."""
    def go():
        r = views.status(obj.sg, actor(user_name))
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        if not r["workers"]:
            click.echo("no worker has run yet: start `stagegate worker` (timers, mail and webhooks wait for one)")
        for w in r["workers"]:
            click.echo(f"worker {w['worker_id']}: last pass {w['seconds_ago']} s ago")
        click.echo(f"outbox: {r['outbox_backlog']} events waiting")
        click.echo(f"mail: {json.dumps(r['mail'])}; SMTP {r['smtp']['smtp_host'] or 'not set (mail is logged)'}")
        click.echo(f"webhooks: {json.dumps(r['webhooks'])}")
    run(go)
