"""The audit trail's tables: the append-only events and the head of the chain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Computed,
    DateTime,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base, BigId, JsonText


class AuditEvent(Base):
    """Append-only, hash-chained record of everything that happened."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    instance_id: Mapped[int | None] = mapped_column(BigId, index=True)
    process_id: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int | None] = mapped_column(Integer)
    element_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The person the engine acted for (details.on_behalf_of), computed by the database from the
    # hashed details and never written on its own: indexed, so the audit log's actor filter
    # finds the gate decisions taken on lena's input as fast as lena's own events.
    on_behalf_of: Mapped[str | None] = mapped_column(
        String(120), Computed(JsonText("details", "on_behalf_of"), persisted=True), index=True)

class AuditHead(Base):
    """The chain's tip. Locking this one row serializes appends across processes."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # the audit key the next event is signed with
