"""Inbox filters people save under a name of their own (a view, a search, filters and a sort)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base, BigId


class SavedInboxFilter(Base):
    """One user's named inbox filter; `params` are the inbox's own query arguments (view, q, sort...)."""

    __tablename__ = "saved_inbox_filters"
    __table_args__ = (UniqueConstraint("user_name", "name", name="uq_saved_inbox_filters_user_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
