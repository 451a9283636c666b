"""Read-only queries behind the pages that show one deal or one task, under the access rule.

Who may see a deal is engine/visibility.py's rule. A task is read by those who may work it and
by the heads of its roles' departments (who may reassign it). Otherwise these raise Refused, and the page says 403.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.bpmn import definitions
from engine.queries import deal_steps
from engine.queries.process_names import friendly
from engine.actors import load_user, roles_of
from engine.assignment import flags, reader_keys
from engine.bpmn.definitions import entries, every_definition
from engine.services.deployment import latest_process_versions, newest_version_ids
from engine.errors import NotFound, Refused
from engine.clock import utc
from engine.store.models import AuditEvent, GateDecision, HumanTask, Instance, ProcessVersion, Source
from engine.queries.records import _event_row, _task_row, gate_query, gate_row, instance as instance_query
from engine.readonly import is_auditor
from engine.visibility import may_see_process, process_workers, visible_deal

TRAIL_KINDS = {"task_completed", "gate_decided", "gateway_passed", "decision_evaluated", "timer_fired",
               "instance_started", "instance_ended", "service_task_run", "message_received",
               "external_task_completed"}
# Elements that never wait and leave no event of their own: the path runs through them.
PASS_THROUGH = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "intermediateThrowEvent", "scriptTask",
                "task", "sendTask", "endEvent"}


def visible_processes(sg, user: str) -> list[str]:
    """Process ids whose deals `user` may see."""
    with sg.uow(write=False) as uow:
        s = uow.session
        who = load_user(s, user)
        mine = reader_keys(who)
        # The models from the version cache: a version's row (its spec and model) is read on a miss only.
        return [process_id for version_id, process_id in newest_version_ids(s)
                if is_auditor(who) or process_workers(sg.version(s, version_id).model) & mine]


def startable(sg, user: str, tasklist: bool = True) -> list[dict]:
    """The newest version of each process `user` may start, with its start form and description;
    `tasklist`: only those meant for people to start (not marked camunda:isStartableInTasklist="false")."""
    with sg.uow(write=False) as uow:
        mine = roles_of(load_user(uow.session, user))
        out = []
        for pv in latest_process_versions(uow.session):
            start = [e for e in pv.model["elements"].values() if e["type"] == "startEvent" and e["parent"] is None
                     and not e.get("message")]  # a message starts those: nobody starts them by hand
            if not start and any(e["type"] == "startEvent" and e["parent"] is None for e in pv.model["elements"].values()):
                continue
            if tasklist and pv.model.get("startable") is False:
                continue
            roles = start[0].get("roles", []) if start else []
            if not roles or set(roles) & mine:
                out.append({"process_id": pv.process_id, "version": pv.version, "name": pv.name or pv.process_id,
                            "description": pv.model.get("description"),
                            "form": pv.model.get("start_form", []), "roles": roles})
        return out


def start_form(sg, process_id: str, user: str, tasklist: bool = True) -> dict:
    """The start form of the newest version, if `user` may start the process (`tasklist`: by hand, on the start page)."""
    for p in startable(sg, user, tasklist=tasklist):
        if p["process_id"] == process_id:
            return p
    hidden = [p for p in startable(sg, user, tasklist=False) if p["process_id"] == process_id] if tasklist else []
    if hidden:
        raise Refused(f"{hidden[0]['name']} is not started from the start page: its diagram says people do not "
                      "start it by hand (another process, a message or a page starts it)")
    raise Refused(f"{user} may not start '{process_id}'")


def diagram(sg, process_id: str, version: int, user: str) -> bytes:
    """The BPMN source of a deployed version, for the diagram viewer."""
    with sg.uow(write=False) as uow:
        s = uow.session
        pv = s.execute(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                    ProcessVersion.version == version)).scalar_one_or_none()
        if pv is None:
            raise NotFound(f"no version {version} of process '{process_id}'")
        if not may_see_process(sg, s, user, pv.id):
            raise Refused(f"{user} may not see process '{process_id}'")
        return s.get(Source, pv.bpmn_sha256).content


def _trail(history: list[dict], ready: list[dict], model: dict) -> dict:
    """Elements the deal has been through (with visit counts), the flows it took, where it is now,
    and the tasks it reached that were cancelled before anyone worked them."""
    visits: dict[str, int] = {}
    flows: list[str] = []
    withdrawn: set[str] = set()
    for e in history:
        inside = (e["details"] or {}).get("called_process")
        if inside:  # an element of a called process: on this diagram, the deal was in its call activity
            for eid in entries(model, inside):
                visits.setdefault(eid, 1)
            continue
        if e["kind"] in TRAIL_KINDS and e["element_id"]:
            visits[e["element_id"]] = visits.get(e["element_id"], 0) + 1
        elif e["kind"] == "task_cancelled" and e["element_id"]:
            withdrawn.add(e["element_id"])
        for f in (e["details"] or {}).get("flows_taken", []):
            if f["id"] not in flows:
                flows.append(f["id"])
    current = sorted({eid for t in ready for eid in (
        entries(model, t["called_process"]) if t.get("called_process") else [t["element_id"]])})
    taken, passed = _path(model, set(visits), flows, set(current) | withdrawn)
    for element_id in passed:  # merges, splits and ends the path ran through, which record no event
        visits.setdefault(element_id, 1)
    return {"visited": visits, "flows": taken, "current": current,
            "cancelled": sorted(withdrawn - set(visits) - set(current))}


def _path(model: dict, left: set, recorded: list[str], reached: set) -> tuple[list[str], set]:
    """The flows taken: those recorded at branching gateways, plus every flow out of an element
    the deal has left through its only way(s) out, into an element it reached (merges, ends and
    other pass-through elements count as reached once a flow into them is taken); and the
    pass-through elements so reached."""
    elements, flows = model["elements"], model["flows"]
    taken = list(recorded)
    left = set(left)
    passed = set()

    def branching(el):
        return el.get("type") in ("exclusiveGateway", "inclusiveGateway") and len(el.get("outgoing", [])) > 1

    changed = True
    while changed:
        changed = False
        for fid, flow in flows.items():
            src, tgt = elements.get(flow["source"]), elements.get(flow["target"])
            if src is None or tgt is None:
                continue
            passes = tgt.get("type") in PASS_THROUGH
            if fid not in taken:
                if flow["source"] not in left or branching(src) or not (passes or flow["target"] in left | reached):
                    continue
                taken.append(fid)
                changed = True
            joins = tgt.get("type") == "parallelGateway" and len(tgt.get("incoming", [])) > 1
            if passes and flow["target"] not in left and (not joins or all(f in taken for f in tgt["incoming"])):
                left.add(flow["target"])
                passed.add(flow["target"])
                changed = True
    return taken, passed


def deal(sg, instance_id: int, user: str, with_history: bool = True) -> dict:
    """Everything the deal page shows: status, data, open tasks, gates, history, diagram trail
    (without `with_history`: only status, data and open tasks, not reading the audit trail)."""
    with sg.uow(write=False) as uow:
        s = uow.session
        inst = visible_deal(sg, s, instance_id, user)
        model = sg.version(s, inst.process_version_id).model
        who = load_user(s, user)
        ready = [{**_task_row(t), **flags(who, t), "sign_off": deal_steps.asks_approval(t.form)}
                 for t in s.execute(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.state == "ready")
                                    .order_by(HumanTask.created_at)).scalars()]
        history = [_event_row(e) for e in s.execute(select(AuditEvent).where(
            AuditEvent.instance_id == inst.id).order_by(AuditEvent.seq)).scalars()] if with_history else None
    state = {**instance_query(sg, instance_id), "ready_tasks": ready, "fields": _form_fields(model)}
    if not with_history:
        return state
    by_step = deal_steps.steps(history, model, state.get("data") or {})
    trail = _trail(history, ready, model)
    return {**state, "history": history, "gates": [e for e in history if e["kind"] == "gate_decided"],
            "trail": trail, "path": deal_steps.path(model, trail), "steps": by_step,
            "sign_offs": deal_steps.sign_offs(by_step)}


def _form_fields(model: dict) -> dict:
    """Every form field of the diagram by id, so a deal's data is shown with the labels its forms gave."""
    fields: dict = {}
    for m in every_definition(model):
        for element in (m.get("elements") or {}).values():
            for f in element.get("form") or []:
                fields.setdefault(f["id"], f)
    return fields


def task(sg, task_id: str, user: str) -> dict:
    """The task page: the task, its form, and its deal (for a user who may work it or heads its department);
    for an escalation, the task it chases (who holds it, how late it is)."""
    with sg.uow(write=False) as uow:
        s = uow.session
        ht = s.get(HumanTask, str(task_id))
        if ht is None:
            raise NotFound(f"no task with id {task_id}")
        who = load_user(s, user)
        may = flags(who, ht)
        if not (may["may_work"] or may["oversees"]):
            raise Refused(f"{user} may not work on '{ht.name}'")
        pv_id = s.get(Instance, ht.instance_id).process_version_id
        model = sg.version(s, pv_id).model
        own = definitions.definition(model, ht.called_process) or model
        row = {**_task_row(ht), **may, "form": ht.form, "escalates": _chased_task(sg, s, ht, who),
               "process_name": friendly(own.get("process_id") or ht.called_process or ht.process_id, own.get("name")),
               "gate": deal_steps.gate_after(model, ht.called_process, ht.element_id)}
    page = deal(sg, row["instance_id"], user)
    withdrawn = [e["details"] for e in page["history"] if e["kind"] == "task_cancelled"
                 and (e["details"] or {}).get("task_id") == row["id"]]
    submitted = [st for st in page["steps"] if st.get("task_id") == row["id"]]
    return {"task": {**row, "cancelled": withdrawn[-1] if withdrawn else None,
                     "submitted": submitted[-1] if submitted else None}, "deal": page}


def _chased_task(sg, s, ht: HumanTask, who) -> dict | None:
    """The task an escalation chases (its element's `escalates`, in the escalation's own process): the
    latest of that element on the deal opened before the escalation, with how many hours past its due
    time it is (or was, when done) and what `who` may do with it."""
    pv_id = s.get(Instance, ht.instance_id).process_version_id
    model = sg.version(s, pv_id).model
    element = definitions.element(model, ht.called_process, ht.element_id)
    chases = ((element.get("properties") or {}).get("escalates") or "").strip()
    if not chases:
        return None
    chased = s.execute(select(HumanTask).where(HumanTask.instance_id == ht.instance_id, HumanTask.element_id == chases,
                                               HumanTask.defined_by(ht.called_process),
                                               HumanTask.created_at <= ht.created_at)
                       .order_by(HumanTask.created_at.desc()).limit(1)).scalar_one_or_none()
    if chased is None:
        return {"element_id": chases, "id": None}
    end, due = utc(chased.completed_at) or sg.now(), utc(chased.due_at)
    late = (end - due).total_seconds() / 3600 if due is not None and end > due else None
    return {**_task_row(chased), **flags(who, chased), "late_hours": late}


def gate_decisions(sg, user: str, instance_id: int | None = None, process_id: str | None = None,
                   gate: str | None = None, outcome: str | None = None, limit: int = 1000) -> list[dict]:
    """Gate decisions on the deals `user` may see, oldest first, narrowed like queries.gate_decisions."""
    visible = visible_processes(sg, user)
    with sg.uow(write=False) as uow:
        q = gate_query(instance_id=instance_id, process_id=process_id, gate=gate, outcome=outcome).where(
            GateDecision.process_id.in_(visible)
            | GateDecision.instance_id.in_(select(Instance.id).where(Instance.started_by == user)))
        return [gate_row(g) for g in uow.session.execute(q.limit(limit)).scalars()]
