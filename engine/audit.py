"""The append-only, hash-chained audit trail."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import append_only  # noqa: F401 - registers the table's guards
from .clock import iso
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def canonical(value) -> str:
    """Stable JSON text: the bytes the hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, seq: int, at, actor, kind, instance_id, process_id, version, element_id, details) -> str:
    """The link hash of one event, over its predecessor's hash and its own content."""
    body = canonical([seq, iso(at), actor, kind, instance_id, process_id, version, element_id, details])
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


PENDING = "stagegate_audit_pending"


def record(session: Session, at: datetime, actor: str, kind: str, *, instance_id=None, process_id=None,
           version=None, element_id=None, details: dict | None = None) -> None:
    """Append one event in the caller's transaction (it commits or rolls back with the change).

    Events are linked into the chain when the transaction commits (see _chain): the chain's
    head row is locked only for that moment, not for the whole step, so steps on different
    deals run side by side on PostgreSQL, and the order of the chain is the order of commits.
    """
    details = json.loads(canonical(details or {}))  # what is hashed is exactly what is stored
    session.info.setdefault(PENDING, []).append(dict(at=at, actor=actor, kind=kind, instance_id=instance_id,
                                                     process_id=process_id, version=version,
                                                     element_id=element_id, details=details))


@event.listens_for(Session, "before_commit")
def _chain(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    session.flush()  # the step's own rows first, so the head is held only for the events' insert
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    for ev in pending:
        seq = head.seq + 1
        digest = event_hash(head.hash, seq, ev["at"], ev["actor"], ev["kind"], ev["instance_id"], ev["process_id"],
                            ev["version"], ev["element_id"], ev["details"])
        session.add(AuditEvent(seq=seq, prev_hash=head.hash, hash=digest, **ev))
        head.seq, head.hash = seq, digest


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


def verify(session: Session, batch: int = 2000) -> dict:
    """Walk the chain; report the number of events and the first one that does not link."""
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            problem = None
            if ev.seq != expected_seq:
                problem = f"event {expected_seq} is missing (next stored event is {ev.seq})"
            elif ev.prev_hash != prev:
                problem = "its link to the previous event is broken (an event was removed, inserted or reordered)"
            elif event_hash(prev, ev.seq, ev.at, ev.actor, ev.kind, ev.instance_id, ev.process_id, ev.version,
                            ev.element_id, ev.details) != ev.hash:
                problem = "its content does not match its hash (the event was altered)"
            if problem:
                at_seq = ev.seq == expected_seq
                return {"ok": False, "events": count, "first_broken_seq": expected_seq, "reason": problem,
                        "event": _named(ev) if at_seq else None}
            prev, expected_seq, count, last_seq = ev.hash, ev.seq + 1, count + 1, ev.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return {"ok": False, "events": count, "first_broken_seq": count + 1, "event": None,
                "reason": f"the chain ends at event {count} but {head.seq} events were written (events were removed from the end)"}
    return {"ok": True, "events": count, "first_broken_seq": None, "reason": None, "event": None}


def _named(ev: AuditEvent) -> dict:
    """The broken event as stored (what it claims to be), so a report can name it."""
    return {"seq": ev.seq, "at": iso(ev.at), "actor": ev.actor, "kind": ev.kind, "instance_id": ev.instance_id,
            "process_id": ev.process_id, "element_id": ev.element_id}


def describe_break(result: dict) -> str:
    """One line naming the first broken event, e.g. "event 17 (task_completed by fiona at ..., deal #3): ..."."""
    ev = result.get("event")
    name = f"event {result['first_broken_seq']}"
    if ev:
        name += f" ({ev['kind']} by {ev['actor']} at {ev['at']}" + (
            f", deal #{ev['instance_id']}" if ev["instance_id"] is not None else "") + ")"
    return f"{name}: {result['reason']}"
