"""The append-only audit trail, each event linked to the one before by an HMAC under the audit key.

The key lives outside the database (engine/audit/keys.py), so someone who can only write to the
database cannot make an edited, inserted or removed event verify again. Events written before
the chain was keyed (databases older than migration 0016) keep their plain SHA-256 links; the
migration appends a keyed `audit_keyed` event over the last of them, which seals them (see
engine/audit/verify.py). `stagegate audit rotate-key` appends such an event under a new key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from engine.store import append_only  # noqa: F401 - registers the table's guards
from engine.audit import keys as audit_key
from engine.audit.keys import AuditKeyError, KeyRing
from engine.clock import iso
from engine.store.models import AuditEvent, AuditHead
from engine.store.prepared import Prepared, insert_rows

GENESIS = "0" * 64
KEYS = "stagegate_audit_keys"  # session.info: the KeyRing the session signs with (set by the composition root)
PENDING = "stagegate_audit_pending"
KEYED = "audit_keyed"  # the event that puts the chain under a key (the first one, or a rotated one)
HASHED = ("seq", "at", "actor", "kind", "instance_id", "process_id", "version", "element_id", "details")


def canonical(value) -> str:
    """Stable JSON text: the bytes the hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hashed_content(ev) -> list:
    """What an event's link covers: its own columns in HASHED, never a column derived for queries."""
    get = ev.get if isinstance(ev, dict) else lambda name: getattr(ev, name)
    return [iso(get(c)) if c == "at" else get(c) for c in HASHED]


def link_hash(key: bytes | None, prev_hash: str, ev) -> str:
    """An event's link: HMAC-SHA256 under `key` of the previous link and the event's content.
    key=None gives the plain SHA-256 link of the events written before the chain was keyed."""
    message = (prev_hash + canonical(hashed_content(ev))).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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


def _link(head, ev: dict, ring: KeyRing) -> dict:
    """The stored row of `ev` appended after `head` (which moves on to it), signed with the head's key.
    A KEYED event is signed with the key it names, and the chain continues under that key."""
    if ev["kind"] == KEYED:
        if head.key_id is not None and ring.get(head.key_id) is None:  # a rotation needs the key it rotates from
            raise AuditKeyError(unknown_key_message(head.key_id, ring))
        ev["details"].update(previous_key_id=head.key_id, events_before=head.seq)
        head.key_id = ev["details"]["key_id"]
    key = ring.get(head.key_id)
    if key is None:
        raise AuditKeyError(unknown_key_message(head.key_id, ring))
    row = dict(ev, seq=head.seq + 1, prev_hash=head.hash)
    row["hash"] = link_hash(key, head.hash, row)
    head.seq, head.hash = row["seq"], row["hash"]
    return row


def unknown_key_message(kid: str | None, ring: KeyRing) -> str:
    if kid is None:
        return "the audit chain is not keyed yet: run `stagegate init` (migration 0016 keys it)"
    return (f"the audit chain is signed with audit key {kid}, which {ring.source} does not hold: restore the "
            "key file from your backup, or restart this process after `stagegate audit rotate-key`")


_HEAD = Prepared(select(AuditHead.__table__).where(AuditHead.__table__.c.id == 1).with_for_update())
_MOVE_HEAD = Prepared(update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                      .values(seq=bindparam("v_seq"), hash=bindparam("v_hash"), key_id=bindparam("v_key_id")))


@event.listens_for(Session, "before_commit")
def _chain(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    ring = session.info.get(KEYS)
    if ring is None:
        raise AuditKeyError("this session has no audit key (build it with stagegate.compose)")
    session.flush()  # the step's own rows first, so the head is held only for the events' insert
    found = _HEAD.first(session)
    head = SimpleNamespace(**found) if found else SimpleNamespace(id=1, seq=0, hash=GENESIS, key_id=ring.current)
    rows = [_link(head, ev, ring) for ev in pending]
    insert_rows(session, AuditEvent.__table__, rows)
    if found:
        _MOVE_HEAD.run(session, {"v_seq": head.seq, "v_hash": head.hash, "v_key_id": head.key_id})
    else:
        insert_rows(session, AuditHead.__table__, [{"id": 1, "seq": head.seq, "hash": head.hash, "key_id": head.key_id}])


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


def key_the_chain(conn, ring: KeyRing, at: datetime, actor: str) -> int | None:
    """Put a chain written before keys existed under the current key (migration 0016): a keyed event
    linked to the last plain one seals every event before it. Returns that event's seq, or None."""
    events, heads = AuditEvent.__table__, AuditHead.__table__
    head = conn.execute(select(heads.c.seq, heads.c.hash, heads.c.key_id).where(heads.c.id == 1)
                        .with_for_update()).mappings().first()
    if head is None or head["key_id"] is not None:
        return None
    if head["seq"] == 0:
        conn.execute(heads.update().where(heads.c.id == 1).values(key_id=ring.current))
        return None
    tip = SimpleNamespace(seq=head["seq"], hash=head["hash"], key_id=None)
    row = _link(tip, _keyed_event(at, actor, ring.current, "the chain was keyed: every event before this one "
                                  "was linked with plain SHA-256"), ring)
    conn.execute(events.insert().values(**{c: row[c] for c in (*HASHED, "prev_hash", "hash")}))
    conn.execute(heads.update().where(heads.c.id == 1).values(seq=tip.seq, hash=tip.hash, key_id=tip.key_id))
    return row["seq"]


def _keyed_event(at, actor, kid: str, note: str) -> dict:
    return dict(at=at, actor=actor, kind=KEYED, instance_id=None, process_id=None, version=None, element_id=None,
                details={"key_id": kid, "note": note})


def rotate_key(sg, actor: str) -> dict:
    """Add a new audit key to the key file and sign the chain with it from now on (older keys stay,
    to verify what they signed). Processes still running with the old key file refuse to write."""
    with sg.uow(write=False) as uow:
        signing = uow.session.execute(select(AuditHead.key_id).where(AuditHead.id == 1)).scalar()
    if signing is not None and sg.audit_keys.get(signing) is None:
        raise AuditKeyError(unknown_key_message(signing, sg.audit_keys))
    ring = audit_key.append_key(sg.audit_keys)
    sg.use_audit_keys(ring)
    with sg.uow() as uow:
        ev = _keyed_event(sg.now(), actor, ring.current, "audit key rotated")
        record(uow.session, **{k: ev[k] for k in ("at", "actor", "kind", "details")})
        uow.commit()
    return {"key_id": ring.current, "source": ring.source}
