"""Running deals: the instances, their human tasks and the inbox's index and counts, timers,
incidents, gate decisions, the keys that make a start idempotent, and the external tasks
(service and send tasks a worker outside the engine does, Camunda 7's pattern)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Base, BigId


class Instance(Base):
    """A running or finished process instance (an opportunity, for the sales catalog)."""

    __tablename__ = "instances"
    # Metrics read dates through this index, never the (large) engine state stored in the row.
    __table_args__ = (Index("ix_instances_metrics", "process_id", "status", "ended_at", "started_at", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    # The starter's own reference for the deal (Camunda's business key: a CRM or ERP id); not unique.
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | completed | error
    stage: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[dict] = mapped_column(JSON)  # engine state without the spec
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_by: Mapped[str] = mapped_column(String(120))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at_element: Mapped[str | None] = mapped_column(String(255))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)

    # Optimistic locking: an UPDATE that finds another writer got there first fails
    # with StaleDataError instead of silently overwriting that writer's step.
    __mapper_args__ = {"version_id_col": lock_version}

class HumanTask(Base):
    """A user task as the inbox sees it, kept in step with the engine state."""

    __tablename__ = "human_tasks"
    __table_args__ = (Index("ix_human_tasks_state_role", "state", "role"),
                      # a step reads its instance's open tasks without scanning the instance's history
                      Index("ix_human_tasks_instance_state", "instance_id", "state"),
                      Index("ix_human_tasks_stage_entry", "instance_id", "stage", "created_at"),
                      # the inbox's "my tasks" and "done by me" views, without scanning every task
                      Index("ix_human_tasks_claimed_by", "claimed_by", "state"),
                      Index("ix_human_tasks_completed_by", "completed_by", "completed_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(120))  # the lane (else the first candidate group), case-folded
    roles: Mapped[list] = mapped_column(JSON)  # lane + candidate groups, case-folded
    candidate_users: Mapped[list | None] = mapped_column(JSON, default=list)  # user names who may work it too
    # The called process whose definition the task's element belongs to; None: the deal's own process.
    called_process: Mapped[str | None] = mapped_column(String(255))
    stage: Mapped[str | None] = mapped_column(String(120))
    form: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16))  # ready | completed | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # its SLA timer, if any
    # camunda:followUpDate: when someone should look at it again; a reminder, never a deadline.
    follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @classmethod
    def defined_by(cls, called_process: str | None):
        """SQL: the tasks whose element `called_process` defines (None: the deal's own process), whose
        ids are that process's own."""
        return cls.called_process.is_(None) if called_process is None else cls.called_process == called_process

class TaskRole(Base):
    """Each role that may work an open human task (lane plus candidate groups), for indexed inbox queries.

    Rows exist only while the task is ready, and copy what the inbox filters and sorts on, so
    the inbox reads an index of the open work, however long the history is."""

    __tablename__ = "human_task_roles"
    __table_args__ = (Index("ix_human_task_roles_role", "role", "task_id"),
                      Index("ix_human_task_roles_facets", "role", "process_id", "lane_role", "stage"),
                      Index("ix_human_task_roles_due", "role", "due_at", "created_at", "task_id"),
                      Index("ix_human_task_roles_age", "role", "created_at", "task_id"),
                      Index("ix_human_task_roles_shared", "role", "shared"))

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(120), primary_key=True)
    process_id: Mapped[str | None] = mapped_column(String(255))
    lane_role: Mapped[str | None] = mapped_column(String(120))  # the task's own role (HumanTask.role)
    stage: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The task is open to more than one role: only these rows can be counted twice for one user.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

class OpenTaskCount(Base):
    """Open tasks per role, process, lane role and stage: the inbox's counts (engine/store/open_tasks.py)."""

    __tablename__ = "open_task_counts"

    role: Mapped[str] = mapped_column(String(120), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), primary_key=True)  # "" where the task has none
    lane_role: Mapped[str] = mapped_column(String(120), primary_key=True)
    stage: Mapped[str] = mapped_column(String(120), primary_key=True)
    open_tasks: Mapped[int] = mapped_column(Integer, default=0)

class Incident(Base):
    """A step the engine could not take, kept for whoever must fix the data or the diagram."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str | None] = mapped_column(String(255))
    element_id: Mapped[str | None] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

class Timer(Base):
    """A timer the engine is waiting on, so the worker finds due ones without loading workflows."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "state", "due_at"),
                      Index("ix_timers_instance_state", "instance_id", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # waiting | fired | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

class IdempotencyKey(Base):
    """The first result of a start request sent with an Idempotency-Key, returned to every retry."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("instances.id"))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

class GateDecision(Base):
    """One pass through a stage gate: go, kill, hold or recycle, on what inputs, decided by whom."""

    __tablename__ = "gate_decisions"
    # The funnel counts passes per gate and outcome from the covering ix_gate_decisions_funnel alone.
    __table_args__ = (Index("ix_gate_decisions_gate_outcome", "process_id", "gate", "outcome"),
                      Index("ix_gate_decisions_stage_entry", "instance_id", "stage", "decided_at"),
                      Index("ix_gate_decisions_funnel", "process_id", "gate", "stage", "outcome", "instance_id",
                            "version", "decided_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(String(120))
    element_id: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(16))  # go | kill | hold | recycle
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    decided_by: Mapped[dict] = mapped_column(JSON, default=dict)  # {"kind": "rule"|"person", ...}
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


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
