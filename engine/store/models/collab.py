"""Tables for what people add to a deal beside its steps: comments, in-app notifications, attachments.

Kept apart from the instance row the engine rewrites at every step, so no step copies or drops them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base, BigId


class Comment(Base):
    """A comment on a deal; `mentions` are the user names it @-mentioned (and notified)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    author: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """Something for one person to see in the app (e.g. a mention); read once they open it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_name", "read_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))  # mention
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    actor: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attachment(Base):
    """A file attached to a deal (or one of its tasks); its bytes are in the file store under `storage_key`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    file_name: Mapped[str] = mapped_column(String(255))  # as uploaded, cleaned; never part of a path
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
