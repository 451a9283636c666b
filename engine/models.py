"""Tables. Plain SQLAlchemy 2 mappings; the engine's use cases are in services.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import ColumnElement


class Base(DeclarativeBase):
    pass


# SQLite only autoincrements INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class JsonText(ColumnElement):
    """SQL for a top-level text value of a JSON column of the same row, e.g. details.on_behalf_of,
    in each database's own syntax: what a generated column is computed from."""

    inherit_cache = True
    type = String()

    def __init__(self, column: str, key: str):
        self.column, self.key = column, key


@compiles(JsonText)
def _json_text_sqlite(element, compiler, **kw):
    return f"json_extract({element.column}, '$.{element.key}')"


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element, compiler, **kw):
    return f"({element.column} ->> '{element.key}')"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Part of every session: bumped on sign-out, password change, role change and deactivation,
    # which ends every session made before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class SignInFailures(Base):
    """Wrong passwords for one user name from one source address, counted to throttle guessing.

    Counted per name and address, so guesses from one address never lock out the user signing
    in from another; kept for unknown names too, so the answers do not tell which names exist."""

    __tablename__ = "sign_in_failures"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UserRole(Base):
    """A departmental role held by a user; stored case-folded, as lanes are matched."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(120), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class Source(Base):
    """A BPMN or DMN file as deployed, stored once per distinct content."""

    __tablename__ = "sources"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
                      Index("ix_human_tasks_stage_entry", "instance_id", "stage", "created_at"))

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
    """Open tasks per role, process, lane role and stage: the inbox's counts (engine/open_tasks.py)."""

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


class ApiToken(Base):
    """A user's key to the JSON API. Only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, so a user can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who made it: the user (signed in; None on tokens from before 0016) or an operator (cli:...).
    created_by: Mapped[str | None] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    """The first result of a start request sent with an Idempotency-Key, returned to every retry."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("instances.id"))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
