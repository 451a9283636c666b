"""The outbox: each event a step causes is a row written in that step's own transaction, so a
rolled-back step sends nothing and a committed one is delivered (by engine/relay.py) at least once,
always under the same id."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.bpmn import definitions
from engine.clock import iso
from engine.store.models import OutboxEvent
from engine.store.prepared import insert_rows

PENDING = "stagegate_outbox_pending"  # session.info: the events the transaction raised, written at commit

# What webhook subscribers may ask for (issue 18), and the events only mail is made from.
WEBHOOK_EVENTS = ("deal.started", "deal.stage_changed", "gate.decided", "task.created", "task.completed",
                  "task.escalated", "deal.won", "deal.lost", "deal.killed", "incident.opened", "deal.ended")
MAIL_ONLY_EVENTS = ("task.assigned", "task.sla_warning")
ENDINGS = {"won": "deal.won", "lost": "deal.lost", "killed": "deal.killed"}


def new_event_id() -> str:
    """A Standard Webhooks message id: stable for every delivery and retry of one event."""
    return f"msg_{uuid.uuid4().hex}"


def emit(s, type_: str, at, instance=None, dedupe_key: str | None = None, **data) -> None:
    """Add one event to the caller's transaction (it commits or rolls back with the step)."""
    body = {**({"deal": deal_of(instance)} if instance is not None else {}), **data}
    s.info.setdefault(PENDING, []).append(dict(
        event_id=new_event_id(), type=type_, instance_id=getattr(instance, "id", None), occurred_at=at,
        data=json.loads(json.dumps(body, default=str)), relayed_at=None, dedupe_key=dedupe_key))


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    # The step's events in one statement at commit, in the order the step raised them.
    if pending := session.info.pop(PENDING, None):
        insert_rows(session, OutboxEvent.__table__, pending)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


def deal_of(instance) -> dict:
    return {"id": instance.id, "title": instance.title, "process_id": instance.process_id,
            "version": instance.version, "stage": instance.stage, "status": instance.status}


def task_of(ht) -> dict:
    return {"id": ht.id, "name": ht.name, "element_id": ht.element_id, "roles": list(ht.roles or []),
            "candidate_users": list(ht.candidate_users or []), "claimed_by": ht.claimed_by,
            "stage": ht.stage, "due_at": iso(ht.due_at), "called_process": ht.called_process}


def observe_step(s, step) -> None:
    """The events of one saved step (a step observer, engine/domain.py), in the order a reader expects:
    gates decided, the stage the deal moved to, the tasks it opened (and escalations among them), then
    how the deal ended."""
    instance, now = step.instance, step.now
    for g in step.gate_decisions:
        emit(s, "gate.decided", now, instance, gate=g["gate"], element_id=g["element_id"], stage=g.get("stage"),
             outcome=g["outcome"], decided_by=g["decided_by"], reason=g.get("reason"), inputs=g["values_read"])
    if instance.stage != step.previous_stage:
        emit(s, "deal.stage_changed", now, instance, previous_stage=step.previous_stage, stage=instance.stage)
    for ht in step.opened:
        chased = _escalated(step.model, ht)
        emit(s, "task.created", now, instance, task=task_of(ht), escalates=chased)
        if chased:
            emit(s, "task.escalated", now, instance, task=task_of(ht), escalates=chased)
    if step.ending is not None:
        emit(s, ENDINGS.get(step.ending["kind"], "deal.ended"), now, instance,
             outcome={k: v for k, v in step.ending.items() if v is not None})


def _escalated(model: dict | None, ht) -> str | None:
    """The task an opened escalation task chases (its `escalates` property), or None."""
    if model is None:
        return None
    el = definitions.element(model, ht.called_process, ht.element_id)
    return ((el.get("properties") or {}).get("escalates") or "").strip() or None
