"""The worker's side of the outbox: turn committed events into webhook deliveries and mail, then
POST the deliveries, retrying with exponential backoff until delivered or dead after a day.

Nothing here runs inside a step: a receiver that is slow or down delays its deliveries only.
Each delivery is claimed with a lease (a short transaction), sent outside any transaction, and its
attempt recorded in another; a worker dying mid-send leaves the lease to expire and the delivery
to be sent again (at least once, always under the event's id). Per subscription, a deal's events
go out in the order they were committed: one waits while an earlier one of the deal is pending."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import time
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from engine.services import mail
from engine.clock import iso
from engine.store.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from engine.services.webhooks import signature, signing_secrets

RELAY_BATCH = 500
LEASE_MARGIN = 30.0  # seconds a claimed delivery is held beyond the request timeout
PARALLEL = 8  # requests in flight at once
BUDGET = 30.0  # seconds of a worker pass spent on deliveries at most


def relay_events(sg, limit: int = RELAY_BATCH) -> int:
    """Make the deliveries and mail of committed events not yet relayed, oldest first; returns how many."""
    with sg.uow() as uow:
        s = uow.session
        # FOR UPDATE without SKIP LOCKED: relays queue up, so a deal's events are relayed in order.
        events = s.execute(select(OutboxEvent).where(OutboxEvent.relayed_at.is_(None))
                           .order_by(OutboxEvent.id).limit(limit).with_for_update()).scalars().all()
        if not events:
            return 0
        now = sg.now()
        subs = s.execute(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))).scalars().all()
        for ev in events:
            for sub in subs:
                if ev.type in sub.event_types:
                    s.add(WebhookDelivery(subscription_id=sub.id, event_seq=ev.id, instance_id=ev.instance_id,
                                          state="pending", attempts=0, created_at=now, next_attempt_at=now))
            mail.queue_for_event(s, sg.integrations, ev, now)
            ev.relayed_at = now
        uow.commit()
        return len(events)


def deliver_due(sg, limit: int = 200, parallel: int = PARALLEL, budget: float = BUDGET) -> dict:
    """POST the due deliveries, `parallel` at a time, until none is due, `limit` were tried or `budget`
    seconds have passed (so slow receivers never hold up the worker's timers); returns counts."""
    counts = {"delivered": 0, "failed": 0, "dead": 0}
    started, tried = time.monotonic(), 0
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="webhook") as pool:
        while tried < limit and time.monotonic() - started < budget:
            jobs = []
            while len(jobs) < min(parallel, limit - tried) and (job := _claim(sg)) is not None:
                jobs.append(job)
            if not jobs:
                break
            tried += len(jobs)
            timeout = sg.integrations.webhook_timeout
            sent = pool.map(lambda j: (j["id"], post(j["url"], j["secrets"], j["event_id"], j["body"], timeout)), jobs)
            for delivery_id, (status, error, ms) in sent:
                counts[_record(sg, delivery_id, status, error, ms)] += 1
    return counts


def payload(ev: OutboxEvent) -> bytes:
    """The body every delivery of the event carries (Standard Webhooks' type, timestamp, data)."""
    return json.dumps({"type": ev.type, "timestamp": iso(ev.occurred_at), "data": ev.data},
                      separators=(",", ":"), sort_keys=True).encode()


def _claim(sg) -> dict | None:
    """Lease the next due delivery whose deal has no earlier one pending at the same subscription."""
    earlier = aliased(WebhookDelivery)
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        blocked = exists().where(and_(earlier.subscription_id == WebhookDelivery.subscription_id,
                                      earlier.instance_id == WebhookDelivery.instance_id,
                                      earlier.state == "pending", earlier.event_seq < WebhookDelivery.event_seq))
        row = s.execute(select(WebhookDelivery, WebhookSubscription, OutboxEvent)
                        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_seq)
                        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                               WebhookSubscription.active.is_(True), ~blocked)
                        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1)
                        .with_for_update(of=WebhookDelivery, skip_locked=True)).first()
        if row is None:
            return None
        d, sub, ev = row
        d.attempts += 1
        d.next_attempt_at = now + timedelta(seconds=sg.integrations.webhook_timeout + LEASE_MARGIN)
        job = {"id": d.id, "url": sub.url, "secrets": signing_secrets(sub, now), "event_id": ev.event_id,
               "body": payload(ev)}
        uow.commit()
        return job


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer that is not 2xx: the delivery failed


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, secrets: list[str], msg_id: str, body: bytes, timeout: float) -> tuple[int | None, str | None, int]:
    """POST one delivery signed with each of `secrets`; returns (HTTP status or None, error or None when 2xx, ms)."""
    stamp = int(time.time())  # the receiver checks it against its own clock: always the wall clock
    signed = " ".join(signature(k, msg_id, stamp, body) for k in secrets)
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Stagegate-Webhooks/1",
        "webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signed})
    started = time.monotonic()
    try:
        with _opener.open(req, timeout=timeout) as resp:
            status, error = resp.status, None
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}: {_snippet(exc)}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        status, error = None, f"no answer: {'timed out' if isinstance(reason, TimeoutError) else reason}"
    ms = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300 and error is None:
        error = f"HTTP {status}"
    return status, error, ms


def _snippet(exc) -> str:
    try:
        return exc.read(300).decode("utf-8", "replace").strip() or exc.reason
    except Exception:  # noqa: BLE001 - the body is only a hint
        return str(exc.reason)


def _record(sg, delivery_id: int, status, error, ms) -> str:
    """Write the attempt; on failure schedule the next one (doubling), or give up after a day."""
    cfg = sg.integrations
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        d = s.get(WebhookDelivery, delivery_id, with_for_update=True)
        s.add(WebhookAttempt(delivery_id=d.id, at=now, status_code=status, error=error, duration_ms=ms))
        if error is None:
            d.state, d.delivered_at, d.last_error, d.next_attempt_at = "delivered", now, None, None
            outcome = "delivered"
        else:
            d.last_error = error[:2000]
            if (now - mail.aware(d.created_at)).total_seconds() >= cfg.webhook_give_up:
                d.state, d.next_attempt_at, outcome = "dead", None, "dead"
            else:
                wait = min(cfg.webhook_first_retry * 2 ** (d.attempts - 1), cfg.webhook_max_retry)
                d.next_attempt_at, outcome = now + timedelta(seconds=wait), "failed"
        uow.commit()
        return outcome

