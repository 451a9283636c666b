"""Use cases on webhook subscriptions (Administrators): subscribe a URL to event types, change or
remove it, read its delivery log, replay deliveries. Deliveries follow Standard Webhooks
(https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp and webhook-signature."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import select

from engine import audit
from engine.admin import require_admin
from engine.clock import iso
from engine.errors import FormInvalid, NotFound
from engine.store.models import WebhookDelivery, WebhookSubscription
from engine.services.outbox import WEBHOOK_EVENTS

MAX_URL = 2000
SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(days=1)


def new_secret() -> str:
    """A signing secret in Standard Webhooks' form: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One webhook-signature: v1, then base64 HMAC-SHA256 over id.timestamp.body under the secret's key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signing_secrets(sub: WebhookSubscription, now) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and for a day after a rotation the old one
    (the header then carries both signatures, space-separated, as Standard Webhooks allows)."""
    until = sub.previous_secret_until
    if sub.previous_secret and until is not None and now < (until if until.tzinfo else until.replace(tzinfo=timezone.utc)):
        return [sub.secret, sub.previous_secret]
    return [sub.secret]


def rotate_secret(sg, actor: str, sub_id: int) -> dict:
    """Give a subscription a new signing secret (shown once); the old one also signs for a day."""
    with sg.uow() as uow:
        s = uow.session
        require_admin(s, actor, "manage webhook subscriptions")
        sub = subscription(s, sub_id)
        sub.previous_secret, sub.previous_secret_until = sub.secret, sg.now() + ROTATION_OVERLAP
        sub.secret = new_secret()
        audit.record(s, sg.now(), actor, "webhook_secret_rotated", details={"subscription_id": sub.id})
        result = {**summary(sub), "secret": sub.secret}
        uow.commit()
    return result


def _checked(url: str | None, event_types) -> tuple[str | None, list[str] | None]:
    errors = {}
    if url is not None:
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
            errors["url"] = f"must be an http:// or https:// URL of at most {MAX_URL} characters"
    if event_types is not None:
        event_types = list(dict.fromkeys(e.strip() for e in event_types if e and e.strip()))
        unknown = [e for e in event_types if e not in WEBHOOK_EVENTS]
        if unknown or not event_types:
            errors["event_types"] = (f"unknown event type {', '.join(unknown)}; " if unknown else "choose at least one; ") \
                + f"choose from {', '.join(WEBHOOK_EVENTS)}"
    if errors:
        raise FormInvalid(errors)
    return url, event_types


def create_subscription(sg, actor: str, url: str, event_types: list[str], description: str | None = None) -> dict:
    """Subscribe `url` to `event_types`; the answer holds the signing secret (shown in full only here)."""
    url, event_types = _checked(url, event_types)
    with sg.uow() as uow:
        s = uow.session
        require_admin(s, actor, "manage webhook subscriptions")
        sub = WebhookSubscription(url=url, secret=new_secret(), event_types=event_types,
                                  description=(description or "").strip()[:200] or None, active=True,
                                  created_at=sg.now(), created_by=actor)
        s.add(sub)
        s.flush()
        audit.record(s, sg.now(), actor, "webhook_subscribed",
                     details={"subscription_id": sub.id, "url": url, "event_types": event_types})
        result = {**summary(sub), "secret": sub.secret}
        uow.commit()
    return result


def update_subscription(sg, actor: str, sub_id: int, url: str | None = None, event_types: list[str] | None = None,
                        active: bool | None = None) -> dict:
    """Change a subscription's URL, event types or whether it receives events (paused: nothing is queued)."""
    url, event_types = _checked(url, event_types)
    with sg.uow() as uow:
        s = uow.session
        require_admin(s, actor, "manage webhook subscriptions")
        sub = subscription(s, sub_id)
        changes = {k: v for k, v in (("url", url), ("event_types", event_types), ("active", active)) if v is not None}
        for k, v in changes.items():
            setattr(sub, k, v)
        if changes:
            audit.record(s, sg.now(), actor, "webhook_changed", details={"subscription_id": sub.id, **changes})
        result = summary(sub)
        uow.commit()
    return result


def replay(sg, actor: str, sub_id: int, delivery_id: int | None = None) -> dict:
    """Send a delivery again (any state), or every dead delivery of the subscription; same event id."""
    with sg.uow() as uow:
        s = uow.session
        require_admin(s, actor, "replay webhook deliveries")
        sub = subscription(s, sub_id)
        q = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
        q = q.where(WebhookDelivery.id == delivery_id) if delivery_id is not None \
            else q.where(WebhookDelivery.state == "dead")
        rows = s.execute(q).scalars().all()
        if delivery_id is not None and not rows:
            raise NotFound(f"subscription {sub.id} has no delivery {delivery_id}")
        for d in rows:
            d.state, d.next_attempt_at, d.created_at = "pending", sg.now(), sg.now()  # a new day to retry in
        audit.record(s, sg.now(), actor, "webhook_replayed",
                     details={"subscription_id": sub.id, "deliveries": [d.id for d in rows]})
        uow.commit()
    return {"subscription_id": sub_id, "replayed": [d.id for d in rows]}




def subscription(s, sub_id) -> WebhookSubscription:
    """The subscription with id `sub_id`, or NotFound."""
    sub = s.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"no webhook subscription {sub_id}")
    return sub


def summary(sub: WebhookSubscription) -> dict:
    """A subscription as plain data, its secret shown only by its first characters."""
    return {"id": sub.id, "url": sub.url, "event_types": list(sub.event_types), "description": sub.description,
            "active": sub.active, "created_at": iso(sub.created_at), "created_by": sub.created_by,
            "secret_hint": sub.secret[:10] + "…"}
