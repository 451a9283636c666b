"""How a deal stands, derived from its record, never typed in: open while it runs; once ended,
killed at the gate whose kill was its last gate decision, else what its end event declares
(the `outcome` property, e.g. won or lost), else simply ended.

The engine knows gates and their outcomes from the diagram's properties; which words those are
(the stop outcome, the close outcomes the metrics count) is the domain's (engine/domain.py).
"""
from __future__ import annotations

import re

from sqlalchemy import select

from engine import domain
from engine.store.models import DealOutcome, GateDecision

OPEN, KILLED, ENDED = "open", "killed", "ended"
# What an end event may declare: one short word (it is stored and counted by the metrics).
DECLARED = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
RESERVED = {OPEN}


def declared(end_event: dict | None) -> str | None:
    """The outcome an end event declares (its `outcome` property), case-folded, if any."""
    value = ((end_event or {}).get("properties") or {}).get("outcome")
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None


def declaration_problem(end_event: dict) -> str | None:
    """Why an end event's `outcome` property cannot be kept as the deals' outcome, if so."""
    value = declared(end_event)
    if value is None or value in RESERVED or not DECLARED.match(value):
        return (f"end event outcome `{(end_event.get('properties') or {}).get('outcome')}` must be one short word "
                f"(a letter, then up to 15 letters, digits, - or _), not '{OPEN}', e.g. won or lost")
    return None


def derive(status: str, end_event: dict | None, last_gate: dict | None) -> dict:
    """The outcome of a deal from its status, the end event it reached and its last gate decision."""
    out = {"kind": OPEN, "gate": None, "stage": None, "reason": None, "end_event": None, "end_event_name": None}
    if status != "completed":
        return {**out, "kind": OPEN if status == "running" else status}
    name = (end_event or {}).get("name")
    out.update(end_event=(end_event or {}).get("id"), end_event_name=name[:255] if name else None)
    if last_gate and last_gate.get("outcome") == domain.current().stop_outcome:
        return {**out, "kind": KILLED, "gate": last_gate.get("gate"), "stage": last_gate.get("stage"),
                "reason": last_gate.get("reason")}
    return {**out, "kind": declared(end_event) or ENDED}


def last_gate(s, instance_id: int, this_step: list[dict]) -> dict | None:
    """The deal's last gate decision: this step's last, else the last one recorded."""
    if this_step:
        return this_step[-1]
    g = s.execute(select(GateDecision).where(GateDecision.instance_id == instance_id)
                  .order_by(GateDecision.id.desc()).limit(1)).scalar_one_or_none()
    return None if g is None else {"gate": g.gate, "stage": g.stage, "outcome": g.outcome, "reason": g.reason}


def recorded(row: DealOutcome | None, status: str) -> dict:
    """The outcome as the deal record keeps it (a closed deal's row), or open."""
    if row is None:
        return derive(status, None, None)
    return {"kind": row.fate, "gate": row.gate, "stage": row.stage, "reason": row.reason,
            "end_event": row.end_event, "end_event_name": row.end_event_name}


def read(s, instances) -> dict[int, dict]:
    """The outcome of each of `instances` (Instance rows), by id, in one query."""
    ids = [i.id for i in instances if i.status == "completed"]
    rows = {r.instance_id: r for r in s.execute(select(DealOutcome).where(DealOutcome.instance_id.in_(ids)))
            .scalars()} if ids else {}
    return {i.id: with_text(recorded(rows.get(i.id), i.status)) for i in instances}


def with_text(outcome: dict) -> dict:
    """The outcome with `text`, a line a person reads: "killed at the Qualification gate: ..."."""
    kind = outcome["kind"]
    if kind == KILLED:
        gate = f"the {outcome['gate'].replace('_', ' ').capitalize()} gate" if outcome.get("gate") else "a gate"
        text = f"killed at {gate}" + (f": {outcome['reason']}" if outcome.get("reason") else "")
    elif kind == OPEN:
        text = "open"
    elif kind == ENDED:
        text = "ended" + (f" at {outcome['end_event_name']}" if outcome.get("end_event_name") else "")
    else:
        text = kind
    return {**outcome, "text": text}
