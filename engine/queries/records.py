"""Read-only queries: tasks, instances, history, versions. They return plain data."""
from __future__ import annotations

from sqlalchemy import select

from engine import audit, outcomes
from engine.audit import verify as audit_verify
from engine.actors import load_user, roles_of
from engine.assignment import inbox_keys
from engine.clock import iso
from engine.bpmn.diagram_model import role_key
from engine.errors import NotFound
from engine.services.external_tasks import retry_targets, waiting_for_workers
from engine.store.models import AuditEvent, GateDecision, HumanTask, Incident, Instance, ProcessVersion, TaskRole, User


def _task_row(t: HumanTask) -> dict:
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "process_id": t.process_id,
        "element_id": t.element_id,
        "name": t.name,
        "role": t.role,
        "roles": t.roles,
        "candidate_users": t.candidate_users or [],
        "called_process": t.called_process,
        "stage": t.stage,
        "state": t.state,
        "created_at": iso(t.created_at),
        "completed_at": iso(t.completed_at),
        "completed_by": t.completed_by,
        "claimed_by": t.claimed_by,
        "due_at": iso(t.due_at),
        "follow_up_at": iso(t.follow_up_at),
    }


def ready_tasks(sg, user: str | None = None, role: str | None = None, instance_id: int | None = None) -> list[dict]:
    """Ready human tasks, narrowed to a user's roles, a role and/or an instance."""
    with sg.uow(write=False) as uow:
        s = uow.session
        q = select(HumanTask).where(HumanTask.state == "ready")
        if instance_id is not None:
            q = q.where(HumanTask.instance_id == instance_id)
        if role is not None:
            q = q.where(HumanTask.role == role_key(role))
        if user is not None:
            mine = inbox_keys(load_user(s, user))
            q = q.where(HumanTask.id.in_(select(TaskRole.task_id).where(TaskRole.role.in_(mine))))
        rows = s.execute(q.order_by(HumanTask.created_at, HumanTask.id)).scalars().all()
        return [_task_row(r) for r in rows]


def task(sg, task_id: str) -> dict:
    """One human task with its form."""
    with sg.uow(write=False) as uow:
        t = uow.session.get(HumanTask, str(task_id))
        if t is None:
            raise NotFound(f"no task with id {task_id}")
        return {**_task_row(t), "form": t.form}


def instance(sg, instance_id: int) -> dict:
    """Status and data of one instance."""
    with sg.uow(write=False) as uow:
        s = uow.session
        i = s.get(Instance, int(instance_id))
        if i is None:
            raise NotFound(f"no instance with id {instance_id}")
        incidents = s.execute(select(Incident).where(Incident.instance_id == i.id, Incident.resolved_at.is_(None))
                              .order_by(Incident.id)).scalars().all()
        held_up = retry_targets(s, [x.id for x in incidents])  # incidents a retry of a worker's task resolves
        workers = waiting_for_workers(s, i.id, sg.now())
        return {
            "id": i.id,
            "process_id": i.process_id,
            "version": i.version,
            "title": i.title,
            "business_key": i.business_key,
            "status": i.status,
            "stage": i.stage,
            "data": i.data,
            "started_at": iso(i.started_at),
            "started_by": i.started_by,
            "ended_at": iso(i.ended_at),
            "ended_at_element": i.ended_at_element,
            "outcome": outcomes.read(s, [i])[i.id],
            "open_incidents": [{"id": x.id, "at": iso(x.at), "element_id": x.element_id,
                                "element_name": x.element_name, "message": x.message,
                                "external_task_id": held_up.get(x.id)} for x in incidents],
            "external_tasks": workers,
        }


def _event_row(e: AuditEvent) -> dict:
    return {
        "seq": e.seq,
        "at": iso(e.at),
        "actor": e.actor,
        "kind": e.kind,
        "instance_id": e.instance_id,
        "process_id": e.process_id,
        "version": e.version,
        "element_id": e.element_id,
        "on_behalf_of": e.on_behalf_of,
        "details": e.details,
    }


def involves(event: dict, name: str) -> bool:
    """True for an event by `name` or a step the engine took on `name`'s input (the audit log's actor filter)."""
    return name in (event["actor"], event["on_behalf_of"])


def history(sg, instance_id: int) -> list[dict]:
    """Audit events of one instance, in order."""
    with sg.uow(write=False) as uow:
        s = uow.session
        if s.get(Instance, int(instance_id)) is None:
            raise NotFound(f"no instance with id {instance_id}")
        rows = s.execute(select(AuditEvent).where(AuditEvent.instance_id == int(instance_id))
                         .order_by(AuditEvent.seq)).scalars().all()
        return [_event_row(e) for e in rows]


def users(sg) -> list[dict]:
    """Every user with their roles."""
    with sg.uow(write=False) as uow:
        rows = uow.session.execute(select(User).order_by(User.name)).scalars().all()
        return [{"name": u.name, "roles": sorted(roles_of(u)), "active": u.active} for u in rows]


def process_versions(sg, process_id: str | None = None) -> list[dict]:
    """Deployed versions, newest first."""
    with sg.uow(write=False) as uow:
        q = select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.name,
                   ProcessVersion.deployed_at, ProcessVersion.deployed_by, ProcessVersion.comment)
        if process_id:
            q = q.where(ProcessVersion.process_id == process_id)
        rows = uow.session.execute(q.order_by(ProcessVersion.process_id, ProcessVersion.version.desc())).all()
        return [{"process_id": r.process_id, "version": r.version, "name": r.name, "deployed_at": iso(r.deployed_at),
                 "deployed_by": r.deployed_by, "comment": r.comment} for r in rows]


def verify_audit(sg, checkpoints: list[dict] = ()) -> dict:
    """Check the audit chain end to end under the installation's keys, and that each checkpoint holds."""
    with sg.uow(write=False) as uow:
        return audit_verify.verify(uow.session, sg.audit_keys, checkpoints)


def read_checkpoint_file(sg, text: str, source: str) -> list[dict]:
    """The checkpoints a checkpoint file's text holds, checked against this installation's audit keys."""
    return audit_verify.read_checkpoints(text, sg.audit_keys, source)


def audit_checkpoint(sg, checkpoints: list[dict] = ()) -> dict:
    """A signed checkpoint of the chain's head, once the chain (and the earlier `checkpoints`) verify;
    else the failed check, with "checkpoint": None."""
    with sg.uow(write=False) as uow:
        result = audit_verify.verify(uow.session, sg.audit_keys, checkpoints)
        # The event the walk ended at, not the head row: events may have been added since.
        last = uow.session.get(AuditEvent, result["events"]) if result["events"] else None
        head_hash = last.hash if last is not None else audit.GENESIS
    if not result["ok"]:
        return {**result, "checkpoint": None}
    return {**result, "checkpoint": audit_verify.sign_checkpoint(sg.audit_keys, result, head_hash, sg.now())}


def gate_decisions(sg, instance_id: int | None = None, process_id: str | None = None, gate: str | None = None,
                   outcome: str | None = None, limit: int = 1000) -> list[dict]:
    """Recorded gate decisions, oldest first, narrowed by instance, process, gate or outcome."""
    with sg.uow(write=False) as uow:
        q = gate_query(instance_id=instance_id, process_id=process_id, gate=gate, outcome=outcome)
        return [gate_row(g) for g in uow.session.execute(q.limit(limit)).scalars()]


def gate_query(**filters):
    """The select of gate decisions, oldest first, with each given filter (column=value) applied."""
    q = select(GateDecision)
    for name, value in filters.items():
        if value is not None:
            q = q.where(getattr(GateDecision, name) == value)
    return q.order_by(GateDecision.decided_at, GateDecision.id)


def gate_row(g: GateDecision) -> dict:
    """One gate decision as plain data."""
    return {"id": g.id, "instance_id": g.instance_id, "process_id": g.process_id, "version": g.version,
            "gate": g.gate, "element_id": g.element_id, "stage": g.stage, "outcome": g.outcome,
            "inputs": g.inputs, "decided_by": g.decided_by, "reason": g.reason, "decided_at": iso(g.decided_at)}
