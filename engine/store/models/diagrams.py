"""What designers deploy and draft: the diagram sources, process and decision versions, drafts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base


class Source(Base):
    """A BPMN or DMN file as deployed, stored once per distinct content."""

    __tablename__ = "sources"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What a DMN file's cells without an expressionLanguage are in; NULL: stored before FEEL
    # was supported, when they were Python (engine/bpmn/dmn/model.py).
    dmn_language: Mapped[str | None] = mapped_column(String(16))

class ProcessVersion(Base):
    """One deployed version of one process, with its parsed spec stored once."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_sha256: Mapped[str] = mapped_column(ForeignKey("sources.sha256"))
    dmn_sha256s: Mapped[list] = mapped_column(JSON, default=list)
    # Serialized SpiffWorkflow spec + subprocess specs; deferred, since the restored spec is
    # cached in memory and most steps never need the stored form.
    spec: Mapped[dict] = mapped_column(JSON, deferred=True)
    model: Mapped[dict] = mapped_column(JSON)  # our element index: lanes, forms, gates, flows
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)

class TimerStartSchedule(Base):
    """A timer start event of a deployed version: when it next starts a deal (engine/services/start_timers.py)."""

    __tablename__ = "timer_start_schedules"
    __table_args__ = (Index("ix_timer_start_schedules_due", "state", "next_due_at"),)

    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), index=True)
    # waiting: next_due_at is the next start; spent: the schedule has no more; replaced: a newer
    # version of the process was deployed, whose own timers (if any) schedule its deals.
    state: Mapped[str] = mapped_column(String(16))
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started: Mapped[int] = mapped_column(Integer, default=0)  # deals it has started
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DecisionVersion(Base):
    """One deployed version of one DMN decision table."""

    __tablename__ = "decision_versions"
    __table_args__ = (UniqueConstraint("decision_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    dmn_sha256: Mapped[str] = mapped_column(ForeignKey("sources.sha256"))
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)

class Draft(Base):
    """A diagram a designer saved without deploying: one per process or decision being edited."""

    __tablename__ = "designer_drafts"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    key: Mapped[str] = mapped_column(String(255))  # the process or decision id the file defines
    name: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    base_version: Mapped[int | None] = mapped_column(Integer)  # the deployed version it started from
    saved_by: Mapped[str] = mapped_column(String(120))
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
