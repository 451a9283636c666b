"""Keeping the outbox small: events whose every delivery is finished, and mail long sent, are
dropped after a retention period (the audit trail keeps the record of what happened)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select

from engine import audit
from engine.admin import require_admin
from engine.store.models import MailMessage, OutboxEvent, WebhookAttempt, WebhookDelivery

DONE_MAIL = ("sent", "logged", "included", "no_address")


def prune(sg, actor: str, days: int = 30) -> dict:
    """Drop relayed events older than `days` with no delivery still pending (with their deliveries and
    attempts), and mail finished that long ago; audited. Returns what was dropped."""
    if days < 1:
        raise ValueError("keep at least one day")
    with sg.uow() as uow:
        s = uow.session
        require_admin(s, actor, "prune the outbox")
        cutoff = sg.now() - timedelta(days=days)
        pending = exists().where(WebhookDelivery.event_seq == OutboxEvent.id, WebhookDelivery.state == "pending")
        events = select(OutboxEvent.id).where(OutboxEvent.relayed_at.is_not(None), OutboxEvent.occurred_at < cutoff,
                                              ~pending).scalar_subquery()
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_seq.in_(events)).scalar_subquery()
        attempts = s.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))).rowcount
        dropped_deliveries = s.execute(delete(WebhookDelivery).where(WebhookDelivery.event_seq.in_(events))).rowcount
        # SLA warnings stay: their rows are what says a task was already warned of.
        dropped_events = s.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(events),
                                                             OutboxEvent.dedupe_key.is_(None))).rowcount
        mails = s.execute(delete(MailMessage).where(MailMessage.state.in_(DONE_MAIL),
                                                    MailMessage.created_at < cutoff)).rowcount
        result = {"events": dropped_events, "deliveries": dropped_deliveries, "attempts": attempts, "mail": mails,
                  "older_than_days": days}
        audit.record(s, sg.now(), actor, "outbox_pruned", details=result)
        uow.commit()
    return result
