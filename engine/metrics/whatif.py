"""What-if: replay the recorded inputs of past gate decisions through a draft decision table."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from ..clock import iso
from ..decisions import DecisionFailed, gate_outcome, read_draft
from ..models import AuditEvent, GateDecision, Instance, ProcessVersion
from .history import fate_of

# The audit events that carry the deal's data forward, and where in them the data sits.
_DATA_EVENTS = {"instance_started": "data", "task_completed": "data", "service_task_run": "outputs",
                "decision_evaluated": "outputs"}


def _data_before(events: list, element_id: str) -> list[dict]:
    """The deal's data at each evaluation of the decision at `element_id`, in order."""
    data, seen = {}, []
    for ev in events:
        if ev.kind == "decision_evaluated" and ev.element_id == element_id:
            seen.append(dict(data))
        data.update((ev.details or {}).get(_DATA_EVENTS[ev.kind]) or {})
    return seen


def what_if(sg, content: bytes, file_name: str = "draft.dmn", process_id: str | None = None) -> dict:
    """Replay every recorded pass of the gates a draft DMN's decisions feed; report changed outcomes.

    Each pass is re-decided on the data the deal had when the deployed table was evaluated
    (rebuilt from the audit trail), with the same sandboxed DMN engine the runtime uses, and the
    gate's conditions are re-evaluated on the new outputs."""
    drafts = read_draft(content, file_name)
    return {"file": file_name, "decisions": [_replay(sg, d, process_id) for d in drafts]}


def summary(result: dict) -> str:
    """One sentence on what a what-if replay found: "this changes 44 past go decisions to kill"."""
    replayed = sum(d["replayed"] for d in result["decisions"])
    failed = sum(len(d["failures"]) for d in result["decisions"])
    moves = Counter()
    for d in result["decisions"]:
        for t in d["transitions"]:
            moves[(t["from"], t["to"])] += t["count"]
    if not replayed and not failed:
        return "No recorded gate decision was made by this table, so the replay has nothing to compare."
    parts = [f"{n} past {a} decision{'s' if n != 1 else ''} to {b}" for (a, b), n in sorted(moves.items())]
    text = ("This changes " + _joined(parts) if parts else "This changes none of the past gate decisions")
    text += f" (of {replayed} replayed)"
    if failed:
        text += f"; {failed} could not be replayed"
    return text + "."


def _joined(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _replay(sg, draft, process_id) -> dict:
    with sg.uow(write=False) as uow:
        s = uow.session
        q = (select(GateDecision, Instance.title, Instance.status, Instance.data["outcome"].as_string(),
                    Instance.process_version_id)
             .join(Instance, Instance.id == GateDecision.instance_id)
             .where(GateDecision.decided_by["kind"].as_string() == "rule",
                    GateDecision.decided_by["decision"].as_string() == draft.id))
        if process_id:
            q = q.where(GateDecision.process_id == process_id)
        passes = [(gd.instance_id, gd.gate, gd.element_id, gd.version, gd.outcome, gd.decided_at,
                   gd.decided_by.get("element_id"), title, status, outcome, pv_id)
                  for gd, title, status, outcome, pv_id in s.execute(q.order_by(GateDecision.instance_id,
                                                                                GateDecision.id))]
        ids = sorted({p[0] for p in passes})
        events: dict[int, list] = {}
        if ids:
            for ev in s.execute(select(AuditEvent.instance_id, AuditEvent.kind, AuditEvent.element_id,
                                       AuditEvent.details)
                                .where(AuditEvent.instance_id.in_(ids), AuditEvent.kind.in_(list(_DATA_EVENTS)))
                                .order_by(AuditEvent.seq)):
                events.setdefault(ev.instance_id, []).append(ev)
        models = {pv_id: model for pv_id, model in s.execute(select(ProcessVersion.id, ProcessVersion.model).where(
            ProcessVersion.id.in_({p[10] for p in passes})))} if passes else {}
    deals, failures, nth, seen = [], [], Counter(), {}
    for iid, gate, element_id, version, recorded, decided_at, rule_element, title, status, outcome, pv_id in passes:
        if (iid, rule_element) not in seen:  # once per deal and table, however often its gate was passed
            seen[(iid, rule_element)] = _data_before(events.get(iid, []), rule_element)
        snapshots = seen[(iid, rule_element)]
        k = nth[(iid, gate)]
        nth[(iid, gate)] += 1
        row = {"id": iid, "title": title, "version": version, "gate": gate,
               "decided_at": iso(decided_at), "recorded": recorded, "fate": fate_of(status, outcome)}
        if k >= len(snapshots):
            failures.append({**row, "reason": "the audit trail has no record of the data this decision saw"})
            continue
        try:
            decided = draft.decide(sg.script_engine, snapshots[k])
            replayed = gate_outcome(sg.script_engine, models[pv_id], element_id, {**snapshots[k], **decided["outputs"]})
        except DecisionFailed as exc:
            failures.append({**row, "reason": str(exc)})
            continue
        deals.append({**row, "replayed": replayed, "changed": replayed != recorded,
                      "inputs": decided["inputs"], "rules": decided["rules"], "reason": decided["description"]})
    changed = [d for d in deals if d["changed"]]
    moves = Counter((d["recorded"], d["replayed"]) for d in changed)
    return {"decision": draft.id, "name": draft.name, "gates": sorted({d["gate"] for d in deals + failures}),
            "replayed": len(deals), "changed": len(changed), "unchanged": len(deals) - len(changed),
            "transitions": [{"from": a, "to": b, "count": n,
                             "fates": dict(Counter(d["fate"] for d in changed if (d["recorded"], d["replayed"]) == (a, b)))}
                            for (a, b), n in sorted(moves.items())],
            "changed_deals": changed, "failures": failures, "deals": deals}
