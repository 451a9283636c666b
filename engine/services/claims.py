"""Use cases on who works a task: claim, unclaim, reassign."""
from __future__ import annotations

from engine import audit
from engine.actors import load_user
from engine.assignment import may_work, require_head, require_worker
from engine.clock import iso
from engine.errors import Conflict, Refused
from engine.readonly import audited_refusals, forbid_auditor
from engine.services import outbox
from engine.services.instances import locked_task
from engine.store.models import Instance


def _ready_task(s, task_id, actor: str, action: str):
    """The ready task, read under its deal's lock, and the acting user (an auditor is refused first)."""
    ht = locked_task(s, task_id)
    user = load_user(s, actor)
    forbid_auditor(user, f"{action} '{ht.name}'", ht.instance_id, task_id=ht.id)
    if ht.state != "ready":
        who = f" by {ht.completed_by}" if ht.completed_by else ""
        raise Conflict(f"'{ht.name}' is no longer open (it was {ht.state}{who})")
    return ht, user


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
