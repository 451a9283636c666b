"""Use cases on who works a task: claim, unclaim, reassign; and a department head doing one of them to several."""
from __future__ import annotations

from sqlalchemy import select

from engine import audit
from engine.actors import load_user
from engine.assignment import heads, may_work, require_head, require_worker
from engine.clock import iso
from engine.errors import Conflict, NotFound, Refused
from engine.readonly import audited_refusals, forbid_auditor
from engine.services import outbox
from engine.services.instances import locked_task
from engine.store.models import HumanTask, Instance


def _ready_task(s, task_id, actor: str, action: str):
    """The ready task, read under its deal's lock, and the acting user (an auditor is refused first)."""
    ht = locked_task(s, task_id)
    user = load_user(s, actor)
    forbid_auditor(user, f"{action} '{ht.name}'", ht.instance_id, task_id=ht.id)
    if ht.state != "ready":
        who = f" by {ht.completed_by}" if ht.completed_by else ""
        raise Conflict(f"'{ht.name}' is no longer open (it was {ht.state}{who})")
    return s.get(HumanTask, ht.id), user  # the mapped row: a claim changes it


def _audit(sg, s, ht, actor, kind, **details):
    audit.record(s, sg.now(), actor, kind, instance_id=ht.instance_id, process_id=ht.process_id,
                 element_id=ht.element_id, details={"task_id": ht.id, "task_name": ht.name, **details})


def _summary(ht) -> dict:
    return {"id": ht.id, "claimed_by": ht.claimed_by, "claimed_at": iso(ht.claimed_at)}


@audited_refusals
def claim_task(sg, task_id: str, actor: str) -> dict:
    """Take a ready task so that only `actor` works it."""
    with sg.uow() as uow:
        s = uow.session
        ht, user = _ready_task(s, task_id, actor, "claim")
        require_worker(user, ht, f"claim '{ht.name}'")
        if ht.claimed_by == actor:
            return _summary(ht)
        if ht.claimed_by:
            raise Conflict(f"'{ht.name}' is already claimed by {ht.claimed_by} since {iso(ht.claimed_at)}")
        ht.claimed_by, ht.claimed_at = actor, sg.now()
        _audit(sg, s, ht, actor, "task_claimed")
        result = _summary(ht)
        uow.commit()
    return result


@audited_refusals
def unclaim_task(sg, task_id: str, actor: str) -> dict:
    """Give a claimed task back to the role's queue (its claimant or the department head)."""
    with sg.uow() as uow:
        s = uow.session
        ht, user = _ready_task(s, task_id, actor, "release")
        if not ht.claimed_by:
            return _summary(ht)
        if ht.claimed_by != actor:
            require_head(user, ht, f"release {ht.claimed_by}'s claim on '{ht.name}'")
        previous = ht.claimed_by
        ht.claimed_by, ht.claimed_at = None, None
        _audit(sg, s, ht, actor, "task_unclaimed", previous=previous)
        result = _summary(ht)
        uow.commit()
    return result


@audited_refusals
def reassign_task(sg, task_id: str, actor: str, to_user: str) -> dict:
    """A department head gives a task to a named user who may work it."""
    with sg.uow() as uow:
        s = uow.session
        ht, user = _ready_task(s, task_id, actor, "reassign")
        require_head(user, ht, f"reassign '{ht.name}'")
        target = load_user(s, to_user)
        if not may_work(target, ht.roles, ht.candidate_users):
            raise Refused(f"{to_user} cannot take '{ht.name}': it needs the role "
                          f"{' or '.join(repr(r) for r in ht.roles)}"
                          + (f" or one of its candidate users ({', '.join(ht.candidate_users)})"
                             if ht.candidate_users else ""))
        previous = ht.claimed_by
        ht.claimed_by, ht.claimed_at = to_user, sg.now()
        _audit(sg, s, ht, actor, "task_reassigned", previous=previous, to=to_user)
        outbox.emit(s, "task.assigned", sg.now(), s.get(Instance, ht.instance_id), task=outbox.task_of(ht),
                    assigned_to=to_user, previous=previous, assigned_by=actor)
        result = _summary(ht)
        uow.commit()
    return result


BULK_MAX = 100
_ONE = {"claim": lambda sg, tid, actor, to: claim_task(sg, tid, actor),
        "release": lambda sg, tid, actor, to: unclaim_task(sg, tid, actor),
        "reassign": lambda sg, tid, actor, to: reassign_task(sg, tid, actor, to)}


@audited_refusals
def act_on_tasks(sg, actor: str, action: str, task_ids: list[str], to_user: str | None = None) -> dict:
    """A department head claims, releases or reassigns several tasks at once. Each goes through its own
    use case above (its own transaction, role check and audit event), so it is not all-or-nothing: a
    task that changed meanwhile or is refused is reported by name (task on deal) with why, and the others are done."""
    ids = list(dict.fromkeys(str(t) for t in task_ids or [] if str(t).strip()))
    with sg.uow(write=False) as uow:
        s = uow.session
        user = load_user(s, actor)
        forbid_auditor(user, "act on several tasks at once")
        if not heads(user):
            raise Refused(f"{actor} may not act on several tasks at once: that is for department heads")
        if action not in _ONE:
            raise Refused(f"'{action}' is not something to do to tasks: claim, release or reassign")
        if not ids:
            raise Refused("choose at least one task (tick its box) first")
        if len(ids) > BULK_MAX:
            raise Refused(f"at most {BULK_MAX} tasks at once; you chose {len(ids)}")
        if action == "reassign" and not (to_user or "").strip():
            raise Refused("choose a person to reassign the tasks to")
        names = {tid: f"{name} on {deal or f'#{iid}'}" for tid, name, iid, deal in s.execute(
            select(HumanTask.id, HumanTask.name, Instance.id, Instance.title)
            .join(Instance, Instance.id == HumanTask.instance_id).where(HumanTask.id.in_(ids)))}
    done, failed = [], []
    for tid in ids:
        if tid not in names:
            failed.append({"id": tid, "name": tid, "why": "no such task"})
            continue
        try:
            _ONE[action](sg, tid, actor, (to_user or "").strip())
            done.append({"id": tid, "name": names[tid]})
        except (Refused, NotFound) as exc:
            failed.append({"id": tid, "name": names[tid], "why": str(exc).rstrip(".")})
    return {"action": action, "to_user": to_user if action == "reassign" else None, "done": done, "failed": failed}
