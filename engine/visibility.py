"""Who may see a deal: the access rule the deal pages and the deal's comments and attachments share.

A user may see a deal when one of their roles has a lane (or candidate group) in its process
or a process it calls (every staff member, where one of its tasks is open to anyone), when they
head such a role's department, when they are a candidate user of one of its tasks, when they may
work (or head a role of) one of its open tasks or completed one of them (candidates decided when
a task opened, `${approverGroups}`, are in no diagram's lanes), or when they started it; an
auditor may see every deal and diagram.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.actors import load_user
from engine.assignment import ANYONE_KEY, index_keys, reader_keys
from engine.bpmn.definitions import every_definition
from engine.errors import NotFound, Refused
from engine.readonly import is_auditor
from engine.store.models import HumanTask, Instance, TaskRole


# The elements a person works; one that names nobody (no lane, candidates or assignee) is open to anyone.
HUMAN_TYPES = ("userTask", "manualTask", "task")


def _keys(el: dict) -> list[str]:
    keys = index_keys(el.get("roles", []), el.get("candidate_users"))
    if not keys and el["type"] in HUMAN_TYPES and not (el.get("assignee") or el.get("assignment_expressions")):
        return [ANYONE_KEY]
    return keys


def process_workers(model: dict) -> set[str]:
    """Every role and candidate user (as inbox keys) that works some element of a process or of one it calls
    (every staff member, where a task is open to anyone)."""
    return {key for m in every_definition(model) for el in m["elements"].values() for key in _keys(el)}


def may_see_process(sg, s, user: str, version_id: int) -> bool:
    """Whether `user` may see the deals (and diagram) of a process version (its row read on a cache miss only)."""
    who = load_user(s, user)
    if is_auditor(who):
        return True
    return bool(process_workers(sg.version(s, version_id).model) & reader_keys(who))


def visible_deal(sg, s, instance_id: int, user: str) -> Instance:
    """The deal `user` may see (the rule above), else NotFound or Refused."""
    inst = s.get(Instance, int(instance_id))
    if inst is None:
        raise NotFound(f"no deal with id {instance_id}")
    if not (inst.started_by == user or may_see_process(sg, s, user, inst.process_version_id)
            or _works_on(s, user, inst.id)):
        raise Refused(f"{user} may not see deal #{instance_id}")
    return inst


def _works_on(s, user: str, instance_id: int) -> bool:
    """Whether `user` may work (or heads a role of) a task of the deal, or completed one of its tasks."""
    keys = reader_keys(load_user(s, user))
    return s.execute(select(HumanTask.id).where(HumanTask.instance_id == instance_id, (HumanTask.completed_by == user) | (
        HumanTask.id.in_(select(TaskRole.task_id).where(TaskRole.role.in_(keys))))).limit(1)).first() is not None
