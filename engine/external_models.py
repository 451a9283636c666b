"""The table of external tasks: service and send tasks a worker outside the engine does (Camunda 7's pattern)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


class ExternalTask(Base):
    """A service or send task waiting for a worker, kept in step with the engine state like HumanTask.

    Fetchable while state is "ready", retries is None or above 0, no unexpired lock is held and
    any retry timeout has passed; `incident_id` names the incident opened when retries reached 0."""

    __tablename__ = "external_tasks"
    __table_args__ = (Index("ix_external_tasks_fetch", "state", "topic", "priority", "created_at"),
                      Index("ix_external_tasks_instance_state", "instance_id", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    called_process: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # ready | completed | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    locked_by: Mapped[str | None] = mapped_column(String(120))  # the user the worker authenticated as
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retries: Mapped[int | None] = mapped_column(Integer)  # None until a worker reports a failure
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # not fetchable before
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(120))
    # The variables the worker sent, as stored: the audit shows them; a later fetch does not need them.
    details: Mapped[dict | None] = mapped_column(JSON)
