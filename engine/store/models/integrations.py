"""Tables of what leaves the system: the outbox of events, webhook subscriptions and their
deliveries, mail, people's notification settings and the workers' heartbeats."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base, BigId


class OutboxEvent(Base):
    """One event, written in the transaction of the step that caused it (a rolled-back step leaves
    none). `event_id` is what receivers de-duplicate on: every delivery of the event carries it."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # commit order per deal
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set once the relay has made the event's deliveries and mail (NULL: still to do).
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An event the worker raises itself (an SLA warning) is raised once: this key says for what.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    __table_args__ = (Index("ix_outbox_events_unrelayed", "relayed_at", "id"),)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))  # whsec_<base64>, Standard Webhooks' form
    # After a rotation the old secret signs too (a second signature) for a day, while receivers switch.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))


class WebhookDelivery(Base):
    """One event to one subscription: pending until delivered, dead after a day of failures."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_seq: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("subscription_id", "event_seq", name="uq_webhook_delivery_event"),
                      Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
                      Index("ix_webhook_deliveries_deal", "subscription_id", "instance_id", "state", "event_seq"))


class WebhookAttempt(Base):
    """The delivery log: each try, with the receiver's status or the error."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


class MailMessage(Base):
    """A mail to one person, written by the relay; sent by the worker (or kept as a log without SMTP)."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(120), index=True)
    address: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))  # task_opened | task_assigned | sla_warning | escalated | digest
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # pending | sent | failed (retrying) | logged (no SMTP configured) | digest (waits for the digest)
    # | no_address | included (went out in a digest)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_mail_messages_due", "state", "next_attempt_at"),)


class NotificationSetting(Base):
    """A person's mail address and how they want to hear of tasks opening for their roles."""

    __tablename__ = "notification_settings"

    user_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    task_mail: Mapped[str] = mapped_column(String(16), default="immediate")  # immediate | digest | off
    digest_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkerBeat(Base):
    """The last pass of each running worker, for the administrators' status page."""

    __tablename__ = "worker_beats"

    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_pass: Mapped[dict] = mapped_column(JSON, default=dict)
