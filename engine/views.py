"""Read-only queries behind the pages that show one deal or one task, with the access rule.

A user may see a deal when one of their roles has a lane (or candidate group) in its
process, or when they started it. Otherwise these raise Refused, and the page says 403.
"""
from __future__ import annotations

from sqlalchemy import select

from .actors import load_user, roles_of
from .deployment import latest_process_versions
from .errors import NotFound, Refused
from .models import AuditEvent, GateDecision, HumanTask, Instance, ProcessVersion, Source
from .queries import _event_row, _task_row, gate_query, gate_row, instance as instance_query

TRAIL_KINDS = {"task_completed", "gate_decided", "gateway_passed", "decision_evaluated", "timer_fired",
               "instance_started", "instance_ended"}


def process_roles(model: dict) -> set[str]:
    """Every role that works some element of a process."""
    return {r for el in model["elements"].values() for r in el.get("roles", [])}


def visible_processes(sg, user: str) -> list[str]:
    """Process ids whose deals `user` may see."""
    with sg.uow(write=False) as uow:
        mine = roles_of(load_user(uow.session, user))
        return [pv.process_id for pv in latest_process_versions(uow.session) if process_roles(pv.model) & mine]


def startable(sg, user: str) -> list[dict]:
    """The newest version of each process `user` may start, with its start form."""
    with sg.uow(write=False) as uow:
        mine = roles_of(load_user(uow.session, user))
        out = []
        for pv in latest_process_versions(uow.session):
            start = [e for e in pv.model["elements"].values() if e["type"] == "startEvent" and e["parent"] is None]
            roles = start[0].get("roles", []) if start else []
            if not roles or set(roles) & mine:
                out.append({"process_id": pv.process_id, "version": pv.version, "name": pv.name or pv.process_id,
                            "form": pv.model.get("start_form", []), "roles": roles})
        return out


def start_form(sg, process_id: str, user: str) -> dict:
    """The start form of the newest version, if `user` may start the process."""
    for p in startable(sg, user):
        if p["process_id"] == process_id:
            return p
    raise Refused(f"{user} may not start '{process_id}'")


def _can_see(s, user: str, inst: Instance) -> bool:
    pv = s.get(ProcessVersion, inst.process_version_id)
    return bool(process_roles(pv.model) & roles_of(load_user(s, user))) or inst.started_by == user


def diagram(sg, process_id: str, version: int, user: str) -> bytes:
    """The BPMN source of a deployed version, for the diagram viewer."""
    with sg.uow(write=False) as uow:
        s = uow.session
        pv = s.execute(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                    ProcessVersion.version == version)).scalar_one_or_none()
        if pv is None:
            raise NotFound(f"no version {version} of process '{process_id}'")
        if not process_roles(pv.model) & roles_of(load_user(s, user)):
            raise Refused(f"{user} may not see process '{process_id}'")
        return s.get(Source, pv.bpmn_sha256).content


def _trail(history: list[dict], ready: list[dict]) -> dict:
    """Elements the deal has been through (with visit counts) and where it is now."""
    visits: dict[str, int] = {}
    flows: list[str] = []
    for e in history:
        if e["kind"] in TRAIL_KINDS and e["element_id"]:
            visits[e["element_id"]] = visits.get(e["element_id"], 0) + 1
        for f in (e["details"] or {}).get("flows_taken", []):
            flows.append(f["id"])
    return {"visited": visits, "flows": flows, "current": sorted({t["element_id"] for t in ready})}


def deal(sg, instance_id: int, user: str) -> dict:
    """Everything the deal page shows: status, data, open tasks, gates, history, diagram trail."""
    with sg.uow(write=False) as uow:
        s = uow.session
        inst = s.get(Instance, int(instance_id))
        if inst is None:
            raise NotFound(f"no deal with id {instance_id}")
        if not _can_see(s, user, inst):
            raise Refused(f"{user} may not see deal #{instance_id}")
        ready = [_task_row(t) for t in s.execute(select(HumanTask).where(
            HumanTask.instance_id == inst.id, HumanTask.state == "ready").order_by(HumanTask.created_at)).scalars()]
        history = [_event_row(e) for e in s.execute(select(AuditEvent).where(
            AuditEvent.instance_id == inst.id).order_by(AuditEvent.seq)).scalars()]
    info = instance_query(sg, instance_id)
    gates = [e for e in history if e["kind"] == "gate_decided"]
    return {**info, "ready_tasks": ready, "history": history, "gates": gates, "trail": _trail(history, ready)}


def task(sg, task_id: str, user: str) -> dict:
    """The task page: the task, its form, and its deal (only for a user who holds its role)."""
    with sg.uow(write=False) as uow:
        s = uow.session
        ht = s.get(HumanTask, str(task_id))
        if ht is None:
            raise NotFound(f"no task with id {task_id}")
        if not set(ht.roles) & roles_of(load_user(s, user)):
            raise Refused(f"{user} may not work on '{ht.name}'")
        row = {**_task_row(ht), "form": ht.form}
    return {"task": row, "deal": deal(sg, row["instance_id"], user)}


def gate_decisions(sg, user: str, instance_id: int | None = None, process_id: str | None = None,
                   gate: str | None = None, outcome: str | None = None, limit: int = 1000) -> list[dict]:
    """Gate decisions on the deals `user` may see, oldest first, narrowed like queries.gate_decisions."""
    visible = visible_processes(sg, user)
    with sg.uow(write=False) as uow:
        q = gate_query(instance_id=instance_id, process_id=process_id, gate=gate, outcome=outcome).where(
            GateDecision.process_id.in_(visible)
            | GateDecision.instance_id.in_(select(Instance.id).where(Instance.started_by == user)))
        return [gate_row(g) for g in uow.session.execute(q.limit(limit)).scalars()]
