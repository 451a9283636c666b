"""Checking the audit chain, and checkpoints: signed heads an operator keeps outside the database.

Each event's link must verify under the key the chain was under at that point (the first event
tells which of the ring's keys, or that it predates keys; each `audit_keyed` event switches to
the key it names and must itself verify under that key). Plain SHA-256 links are accepted only
before the first keyed event, which seals them, and a chain that ends without one is not ok.

The key stops anyone from changing what is in the chain, not from cutting its tail and moving
the head back: a checkpoint (count, last event, head hash, time, signed with the key) kept
elsewhere proves that the event it names still has that hash, so nothing up to it was changed or cut.
"""
from __future__ import annotations

import hmac
import json

from sqlalchemy import select

from engine.audit import GENESIS, KEYED, canonical, link_hash
from engine.audit.keys import AuditKeyError, KeyRing
from engine.clock import iso
from engine.limits import MAX_CHECKPOINT_FILE
from engine.store.models import AuditEvent, AuditHead

_PLAIN = object()  # the chain is in its unkeyed prefix
CHECKPOINT_FIELDS = ("events", "seq", "head", "at", "key_id")


def verify(session, ring: KeyRing, checkpoints: list[dict] = (), batch: int = 2000) -> dict:
    """Walk the chain; report the number of events, how it is keyed, and the first one that does not hold."""
    walk = _Walk(ring, {cp["seq"]: cp for cp in checkpoints})
    last_seq = 0
    while True:
        rows = session.execute(select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
                               .limit(batch)).scalars().all()
        if not rows:
            break
        for ev in rows:
            problem = walk.step(ev)
            if problem:
                at_seq = ev.seq == walk.expected_seq
                return walk.result(problem, walk.expected_seq, _named(ev) if at_seq else None)
            last_seq = ev.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    n = walk.count
    if head is not None and (head.seq != n or head.hash != walk.prev):
        return walk.result(f"the chain ends at event {n} but {head.seq} events were written "
                           "(events were removed from the end)", n + 1)
    cut = [cp for cp in checkpoints if cp["seq"] > n]
    if cut:
        cp = max(cut, key=lambda c: c["seq"])
        return walk.result(f"the checkpoint of {cp['at']} recorded {cp['events']} events, the chain has only {n}: "
                           f"events {n + 1} to {cp['seq']} were cut", n + 1)
    if n and walk.key is _PLAIN:
        return walk.result(f"none of the {n} events is keyed: their plain SHA-256 links could have been recomputed "
                           "by anyone with access to the database (run `stagegate init` to key the chain)", None)
    return walk.result(None, None)


class _Walk:
    """The state of a walk along the chain: where it is, and under which key."""

    def __init__(self, ring: KeyRing, checkpoints: dict):
        self.ring, self.checkpoints = ring, checkpoints
        self.prev, self.expected_seq, self.count = GENESIS, 1, 0
        self.key = None  # the key the next event must verify under; None until the first event is read
        self.keyed_from = None
        self.held = []

    def step(self, ev) -> str | None:
        if ev.seq != self.expected_seq:
            return f"event {self.expected_seq} is missing (next stored event is {ev.seq})"
        if ev.prev_hash != self.prev:
            return "its link to the previous event is broken (an event was removed, inserted or reordered)"
        problem = self._check_hash(ev)
        if problem:
            return problem
        cp = self.checkpoints.get(ev.seq)
        if cp is not None:
            if cp["head"] != ev.hash:
                return (f"it is not the event the checkpoint of {cp['at']} recorded: the chain up to it was "
                        "changed or cut and written again after that checkpoint")
            self.held.append(cp)
        self.prev, self.expected_seq, self.count = ev.hash, ev.seq + 1, self.count + 1
        return None

    def _check_hash(self, ev) -> str | None:
        altered = "its content does not match its hash (the event was altered)"
        if ev.kind == KEYED:
            kid = (ev.details or {}).get("key_id")
            key = self.ring.get(kid)
            if key is None:
                return (f"it puts the chain under audit key {kid}, which {self.ring.source} does not hold "
                        "(restore that key from your backup), or it was altered")
            if link_hash(key, self.prev, ev) != ev.hash:
                return altered
            self.key, self.keyed_from = key, self.keyed_from or ev.seq
            return None
        if self.key is None:  # the first event: under one of the ring's keys, or from before keys
            self.key = next((k for k in self.ring.keys.values() if link_hash(k, self.prev, ev) == ev.hash), None)
            if self.key is not None:
                self.keyed_from = ev.seq
                return None
            self.key = _PLAIN
        if link_hash(None if self.key is _PLAIN else self.key, self.prev, ev) != ev.hash:
            if ev.seq == 1:
                return altered + f", or it was signed with an audit key that {self.ring.source} does not hold"
            return altered
        return None

    def result(self, problem: str | None, first_broken: int | None, event: dict | None = None) -> dict:
        ok = problem is None
        newest = max(self.held, key=lambda c: c["seq"]) if self.held else None
        return {"ok": ok, "events": self.count, "first_broken_seq": None if ok else first_broken,
                "reason": problem, "event": event,
                "keyed_from": self.keyed_from,
                "unkeyed_events": (self.keyed_from - 1) if self.keyed_from else self.count,
                "checkpoints": len(self.held), "newest_checkpoint": newest}


def _named(ev: AuditEvent) -> dict:
    """The broken event as stored (what it claims to be), so a report can name it."""
    return {"seq": ev.seq, "at": iso(ev.at), "actor": ev.actor, "kind": ev.kind, "instance_id": ev.instance_id,
            "process_id": ev.process_id, "element_id": ev.element_id}


def describe_break(result: dict) -> str:
    """One line naming the first broken event, e.g. "event 17 (task_completed by fiona at ..., deal #3): ..."."""
    if result["first_broken_seq"] is None:
        return result["reason"]
    ev = result.get("event")
    name = f"event {result['first_broken_seq']}"
    if ev:
        name += f" ({ev['kind']} by {ev['actor']} at {ev['at']}" + (
            f", deal #{ev['instance_id']}" if ev["instance_id"] is not None else "") + ")"
    return f"{name}: {result['reason']}"


def describe_ok(result: dict) -> str:
    """One line for an intact chain: how many events, since when keyed, which checkpoints hold."""
    line = f"ok {result['events']} events"
    if result["unkeyed_events"] and result["keyed_from"]:
        line += (f" (events 1 to {result['unkeyed_events']} were linked before the chain was keyed and are "
                 f"sealed by the keyed event {result['keyed_from']})")
    if result["newest_checkpoint"]:
        cp = result["newest_checkpoint"]
        line += f"; {result['checkpoints']} checkpoints hold, the newest of {cp['at']} at event {cp['seq']}"
    return line


# -- checkpoints ------------------------------------------------------------------------------

def _signature(key: bytes, cp: dict) -> str:
    return hmac.new(key, canonical({f: cp[f] for f in CHECKPOINT_FIELDS}).encode(), "sha256").hexdigest()


def sign_checkpoint(ring: KeyRing, result: dict, head_hash: str, at) -> dict:
    """A checkpoint of a chain that verified (`result`), signed with the current key."""
    cp = {"events": result["events"], "seq": result["events"], "head": head_hash, "at": iso(at),
          "key_id": ring.current}
    return {**cp, "signature": _signature(ring.get(ring.current), cp)}


def checkpoint_line(cp: dict) -> str:
    """The checkpoint as the one line of JSON kept in a checkpoint file."""
    return json.dumps(cp, sort_keys=True)


def read_checkpoints(text: str, ring: KeyRing, source: str) -> list[dict]:
    """The checkpoints in a file's text (one JSON object a line), each signature checked with the ring."""
    if len(text) > MAX_CHECKPOINT_FILE:
        raise AuditKeyError(f"{source} is larger than {MAX_CHECKPOINT_FILE // 1_000_000} MB; is it a checkpoint file?")
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            cp = json.loads(line)
            fields_ok = isinstance(cp, dict) and all(f in cp for f in (*CHECKPOINT_FIELDS, "signature")) and \
                isinstance(cp["seq"], int) and isinstance(cp["events"], int)
        except ValueError:
            fields_ok = False
        if not fields_ok:
            raise AuditKeyError(f"{source}, line {n}: not a checkpoint (one JSON object a line, "
                                "as `stagegate audit checkpoint` prints)")
        key = ring.get(cp["key_id"])
        if key is None:
            raise AuditKeyError(f"{source}, line {n}: signed with audit key {cp['key_id']}, "
                                f"which {ring.source} does not hold")
        if not hmac.compare_digest(_signature(key, cp), str(cp["signature"])):
            raise AuditKeyError(f"{source}, line {n}: its signature does not match (the checkpoint was altered)")
        out.append(cp)
    return out
