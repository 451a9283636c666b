"""What the figures read: each deal's stays in its stages and its outcome, and what-if jobs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base


class StageStay(Base):
    """A deal's stay in a stage: from the first task or gate of the stage to the first of the next
    stage (or the deal's end). Kept in step with every step, so the metrics need not rebuild it."""

    __tablename__ = "stage_stays"
    # Time in stage reads counts, sums and the order statistics of `days` from this index alone,
    # in index order per stage (no sort); the open stays (days NULL) sort first.
    __table_args__ = (Index("ix_stage_stays_days", "process_id", "stage", "days", "version", "left_at"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(120), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: the deal is still there
    days: Mapped[float | None] = mapped_column(Float)  # left_at - entered_at in days

class DealOutcome(Base):
    """How a closed deal ended, with the figures the metrics sum (written once, when it closes)."""

    __tablename__ = "deal_outcomes"
    __table_args__ = (Index("ix_deal_outcomes_period", "process_id", "ended_at", "version", "fate", "started_at",
                            "acquisition_cost", "deal_size"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # How it ended (engine/outcomes.py): killed (its last gate decision was a kill), what its end event
    # declares (won, lost), or ended.
    fate: Mapped[str] = mapped_column(String(16))
    deal_size: Mapped[float | None] = mapped_column(Float)  # the final price, else the expected deal value
    acquisition_cost: Mapped[float | None] = mapped_column(Float)
    gate: Mapped[str | None] = mapped_column(String(120))  # the gate that killed it, with its stage and reason
    stage: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    end_event: Mapped[str | None] = mapped_column(String(255))  # the end event reached: id and name
    end_event_name: Mapped[str | None] = mapped_column(String(255))

class WhatIfJob(Base):
    """A what-if replay asked for on the metrics page: it runs in the background, the page polls it."""

    __tablename__ = "what_if_jobs"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted job's id (its page's URL) is never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    file_name: Mapped[str] = mapped_column(String(255))
    process_id: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the draft table; emptied once replayed
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    limit_hit: Mapped[str | None] = mapped_column(String(16))  # the sandbox bound that stopped it
