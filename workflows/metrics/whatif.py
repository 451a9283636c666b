"""What-if: replay the recorded inputs of past gate decisions through a draft decision table.

The replay runs diagram code (the draft's cells, the gates' conditions) on every recorded pass,
so it runs as one job in a sandbox worker process, bounded as a whole by sandbox.JOB_LIMITS:
this process reads the passes and the deal's data at each (plain data, no diagram code), the
worker re-decides them. `what_if` waits for it; workflows.metrics.whatif_jobs runs it in the
background for the metrics page.
"""
from __future__ import annotations

import base64
from collections import Counter

from sqlalchemy import select

from engine import sandbox
from engine.sandbox import pool as sandbox_pool
from engine.clock import iso
from engine.bpmn.dmn.decisions import DecisionFailed, gate_outcome, read_draft
from engine.bpmn.definitions import owner_of
from engine.errors import JobStopped
from engine.store.models import AuditEvent, DealOutcome, GateDecision, Instance, ProcessVersion
from workflows.metrics.history import fate_of

# The audit events that carry the deal's data forward, and where in them the data sits.
_DATA_EVENTS = {"instance_started": "data", "task_completed": "data", "service_task_run": "outputs",
                "decision_evaluated": "outputs"}
REPLAY_JOB = "workflows.metrics.whatif:replay"


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
    gate's conditions are re-evaluated on the new outputs. Waits for the replay (a sandbox job);
    InvalidDiagram says what is wrong with the draft, JobStopped which limit stopped the replay."""
    drafts = read_draft(content, file_name)
    payload = {"content": base64.b64encode(content).decode("ascii"), "file": file_name,
               "passes": {d.id: _passes(sg, d.id, process_id) for d in drafts}}
    try:
        decisions = sandbox_pool.jobs().run_job(REPLAY_JOB, payload, dict(sg.script_engine.environment.globals),
                                                sandbox.JOB_LIMITS)
    except sandbox.LimitExceeded as hit:
        raise JobStopped(f"the what-if replay was stopped: {hit}", hit.limit) from None
    except sandbox.SandboxError as exc:
        raise JobStopped(f"the what-if replay failed: {exc}") from None
    return {"file": file_name, "decisions": decisions}


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


def _passes(sg, decision_id: str, process_id: str | None) -> dict:
    """Every recorded pass of a gate the decision fed, with the deal's data at the time, and the
    gateways' flows: plain data for the replay job."""
    with sg.uow(write=False) as uow:
        s = uow.session
        q = (select(GateDecision, Instance.title, Instance.status, DealOutcome.fate, Instance.process_version_id)
             .join(Instance, Instance.id == GateDecision.instance_id)
             .outerjoin(DealOutcome, DealOutcome.instance_id == Instance.id)
             .where(GateDecision.decided_by["kind"].as_string() == "rule",
                    GateDecision.decided_by["decision"].as_string() == decision_id))
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
    rows, nth, seen, gateways = [], Counter(), {}, {}
    for iid, gate, element_id, version, recorded, decided_at, rule_element, title, status, outcome, pv_id in passes:
        if (iid, rule_element) not in seen:  # once per deal and table, however often its gate was passed
            seen[(iid, rule_element)] = _data_before(events.get(iid, []), rule_element)
        snapshots = seen[(iid, rule_element)]
        k = nth[(iid, gate)]
        nth[(iid, gate)] += 1
        rows.append({"id": iid, "title": title, "version": version, "gate": gate, "decided_at": iso(decided_at),
                     "recorded": recorded, "fate": fate_of(status, outcome), "gateway": f"{pv_id}:{element_id}",
                     "data": snapshots[k] if k < len(snapshots) else None})
        gateways.setdefault(f"{pv_id}:{element_id}", _gateway(models[pv_id], element_id))
    return {"rows": rows, "gateways": gateways}


def _gateway(model: dict, element_id: str) -> dict:
    """The part of a version's model gate_outcome reads: the gateway and its outgoing flows."""
    owner = owner_of(model, element_id)
    if owner is None:  # gate_outcome then says the gateway is not in the stored diagram
        return {"elements": {}, "flows": {}}
    el = owner["elements"][element_id]
    return {"elements": {element_id: el}, "flows": {f: owner["flows"][f] for f in el.get("outgoing", [])}}


def replay(payload: dict, helpers: dict) -> list[dict]:
    """The replay job, run in a sandbox worker: each draft decision re-decided on its passes."""
    from engine.bpmn.script_engine import make_script_engine

    script_engine = make_script_engine(helpers)
    drafts = read_draft(base64.b64decode(payload["content"]), payload["file"])
    return [_replay(draft, payload["passes"][draft.id], script_engine) for draft in drafts]


def _replay(draft, recorded: dict, script_engine) -> dict:
    deals, failures = [], []
    for p in recorded["rows"]:
        row = {k: p[k] for k in ("id", "title", "version", "gate", "decided_at", "recorded", "fate")}
        if p["data"] is None:
            failures.append({**row, "reason": "the audit trail has no record of the data this decision saw"})
            continue
        element_id = p["gateway"].split(":", 1)[1]
        try:
            decided = draft.decide(script_engine, p["data"])
            replayed = gate_outcome(script_engine, recorded["gateways"][p["gateway"]], element_id,
                                    {**p["data"], **decided["outputs"]})
        except DecisionFailed as exc:
            failures.append({**row, "reason": str(exc)})
            continue
        deals.append({**row, "replayed": replayed, "changed": replayed != p["recorded"],
                      "inputs": decided["inputs"], "rules": decided["rules"], "reason": decided["description"]})
    changed = [d for d in deals if d["changed"]]
    moves = Counter((d["recorded"], d["replayed"]) for d in changed)
    return {"decision": draft.id, "name": draft.name, "gates": sorted({d["gate"] for d in deals + failures}),
            "replayed": len(deals), "changed": len(changed), "unchanged": len(deals) - len(changed),
            "transitions": [{"from": a, "to": b, "count": n,
                             "fates": dict(Counter(d["fate"] for d in changed if (d["recorded"], d["replayed"]) == (a, b)))}
                            for (a, b), n in sorted(moves.items())],
            "changed_deals": changed, "failures": failures, "deals": deals}
