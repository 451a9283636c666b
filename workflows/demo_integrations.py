"""The demo's integrations, all on this machine: an Administrator, a mail address per demo user (no
SMTP server: mail is kept in the mail log page), a gate.decided webhook to a local receiver
that checks each signature and prints what it got, and the ERP stand-in pricing proposals."""
from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
from sqlalchemy import select, update

from engine.store.models import OutboxEvent, WebhookSubscription
from engine.services.notification_settings import set_settings
from engine.services.users import add_user
from engine.services.webhooks import create_subscription, signature, update_subscription

DEMO_ADMIN = {"alex": ["Administrator"]}
RECEIVER = "demo receiver (make run)"
ACTOR = "cli:demo"


def set_up(sg, users: dict, password: str, now: datetime) -> None:
    """After the demo's history is played: the Administrator, everyone's mail address, and the history
    marked as relayed (it happened before anyone subscribed; only what people do from now on is sent)."""
    for name, roles in DEMO_ADMIN.items():
        add_user(sg, name, roles, ACTOR, password=password)
    for name in {**users, **DEMO_ADMIN}:
        set_settings(sg, ACTOR, name, email=f"{name}@example.test")
    with sg.uow() as uow:
        uow.session.execute(update(OutboxEvent).where(OutboxEvent.relayed_at.is_(None)).values(relayed_at=now))
        uow.commit()


def start_receiver(sg) -> str:
    """Serve the demo's webhook receiver on a free loopback port and point the demo subscription at it."""
    state = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 20))
            h = {k.lower(): v for k, v in self.headers.items()}
            ok = h.get("webhook-signature") == signature(state["secret"], h.get("webhook-id", ""),
                                                         int(h.get("webhook-timestamp") or 0), body)
            event = json.loads(body or b"{}")
            deal = (event.get("data") or {}).get("deal") or {}
            data = event.get("data") or {}
            click.echo(f"webhook received {h.get('webhook-id')}: {event.get('type')} on deal #{deal.get('id')} "
                       f"{deal.get('title')!r}: {data.get('gate')} -> {data.get('outcome')} "
                       f"(signature {'valid' if ok else 'INVALID'})")
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/stagegate"
    with sg.uow(write=False) as uow:
        sub = uow.session.execute(select(WebhookSubscription).where(WebhookSubscription.description == RECEIVER)).scalar()
        found = (sub.id, sub.secret) if sub else None
    if found is None:
        made = create_subscription(sg, ACTOR, url, ["gate.decided"], RECEIVER)
        found = (made["id"], made["secret"])
    else:
        update_subscription(sg, ACTOR, found[0], url=url)
    state["secret"] = found[1]
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-webhook-receiver").start()
    return url


def start_worker(sg, interval: float = 5.0) -> threading.Event:
    """Run the worker's passes and the ERP stand-in in a background thread (what `stagegate worker` and
    the ERP's own worker do in production); setting the returned event stops it."""
    from engine.clock import utcnow
    from engine.services.worker import worker_id, worker_pass
    from workflows import erp_pricing

    wid, started = worker_id() + ":demo", utcnow()

    stop = threading.Event()

    def loop():
        while not stop.wait(interval):
            try:
                worker_pass(sg, wid, started)
                if priced := erp_pricing.serve_pending(sg):
                    click.echo(f"ERP stand-in priced {priced} proposal(s) (topic {erp_pricing.TOPIC})")
            except Exception as exc:  # noqa: BLE001 - the demo server keeps serving; the status page shows the gap
                click.echo(f"demo worker: {exc}", err=True)

    threading.Thread(target=loop, daemon=True, name="demo-worker").start()
    return stop
