"""Read-only views for administrators of what leaves the system: webhook subscriptions and their
delivery log, the mail log, and the workers' status."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.admin import require_admin
from engine.clock import iso
from engine.services.mail import aware
from engine.services.webhooks import subscription, summary
from engine.store.models import MailMessage, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription, WorkerBeat


def subscriptions(sg, actor: str) -> list[dict]:
    """Every subscription with its deliveries counted by state."""
    with sg.uow(write=False) as uow:
        s = uow.session
        require_admin(s, actor, "see webhook subscriptions")
        counts = {}
        for sid, state, n in s.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.state, func.count())
                                       .group_by(WebhookDelivery.subscription_id, WebhookDelivery.state)):
            counts.setdefault(sid, {})[state] = n
        return [{**summary(sub), "deliveries": counts.get(sub.id, {})}
                for sub in s.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)).scalars()]


def delivery_log(sg, actor: str, sub_id: int, limit: int = 100) -> dict:
    """A subscription's newest deliveries, each with its event and every attempt made."""
    with sg.uow(write=False) as uow:
        s = uow.session
        require_admin(s, actor, "see webhook deliveries")
        sub = subscription(s, sub_id)
        rows = s.execute(select(WebhookDelivery, OutboxEvent).join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_seq)
                         .where(WebhookDelivery.subscription_id == sub.id)
                         .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
        tries = {}
        if rows:
            for a in s.execute(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_([d.id for d, _ in rows]))
                               .order_by(WebhookAttempt.id)).scalars():
                tries.setdefault(a.delivery_id, []).append(
                    {"at": iso(a.at), "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms})
        return {"subscription": summary(sub), "deliveries": [
            {"id": d.id, "event_id": e.event_id, "type": e.type, "instance_id": e.instance_id,
             "occurred_at": iso(e.occurred_at), "state": d.state, "attempts": tries.get(d.id, []),
             "next_attempt_at": iso(d.next_attempt_at) if d.state == "pending" else None,
             "delivered_at": iso(d.delivered_at), "last_error": d.last_error} for d, e in rows]}


def mail_log(sg, actor: str, user: str | None = None, limit: int = 200) -> list[dict]:
    """The newest mail: a person's own with its text, or everyone's for an Administrator without the text
    (it names deals, and administering shows no deal data)."""
    with sg.uow(write=False) as uow:
        s = uow.session
        if user != actor:
            require_admin(s, actor, "read other people's mail")
        q = select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)
        if user is not None:
            q = q.where(MailMessage.user_name == user)
        return [{"id": m.id, "user": m.user_name, "address": m.address, "kind": m.kind, "subject": m.subject,
                 "body": m.body if m.user_name == actor else None, "state": m.state, "attempts": m.attempts, "created_at": iso(m.created_at),
                 "sent_at": iso(m.sent_at), "last_error": m.last_error} for m in s.execute(q).scalars()]


def status(sg, actor: str) -> dict:
    """For administrators: each worker's last pass, the outbox backlog, mail and deliveries by state, SMTP."""
    with sg.uow(write=False) as uow:
        s = uow.session
        require_admin(s, actor, "see the worker and mail status")
        now = sg.now()
        workers = [{"worker_id": b.worker_id, "started_at": iso(b.started_at), "last_seen_at": iso(b.last_seen_at),
                    "seconds_ago": int((now - aware(b.last_seen_at)).total_seconds()), "last_pass": b.last_pass}
                   for b in s.execute(select(WorkerBeat).order_by(WorkerBeat.last_seen_at.desc())).scalars()]
        backlog = s.execute(select(func.count()).where(OutboxEvent.relayed_at.is_(None))).scalar()
        oldest = s.execute(select(func.min(OutboxEvent.occurred_at)).where(OutboxEvent.relayed_at.is_(None))).scalar()
        mails = dict(s.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state)).all())
        last_error = s.execute(select(MailMessage.last_error).where(MailMessage.state == "failed")
                               .order_by(MailMessage.id.desc()).limit(1)).scalar()
        hooks = dict(s.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all())
        return {"workers": workers, "outbox_backlog": backlog, "oldest_unrelayed": iso(oldest), "mail": mails,
                "mail_last_error": last_error, "webhooks": hooks, "smtp": sg.integrations.shown()}
