"""Who may see a deal: the access rule the deal pages and the deal's comments and attachments share.

A user may see a deal when one of their roles has a lane (or candidate group) in its process
or a process it calls, when they head such a role's department, when they are a candidate user
of one of its tasks, or when they started it; an auditor may see every deal and diagram.
"""
from __future__ import annotations

from engine.actors import load_user
from engine.assignment import index_keys, reader_keys
from engine.bpmn.definitions import every_definition
from engine.errors import NotFound, Refused
from engine.readonly import is_auditor
from engine.store.models import Instance, ProcessVersion


def process_workers(model: dict) -> set[str]:
    """Every role and candidate user (as inbox keys) that works some element of a process or of one it calls."""
    return {key for m in every_definition(model) for el in m["elements"].values()
            for key in index_keys(el.get("roles", []), el.get("candidate_users"))}


def may_see_process(sg, s, user: str, pv: ProcessVersion) -> bool:
    """Whether `user` may see the deals (and diagram) of process version `pv`."""
    who = load_user(s, user)
    return is_auditor(who) or bool(process_workers(sg.specs.version(pv.id, lambda: pv).model) & reader_keys(who))


def visible_deal(sg, s, instance_id: int, user: str) -> Instance:
    """The deal `user` may see (the rule above), else NotFound or Refused."""
    inst = s.get(Instance, int(instance_id))
    if inst is None:
        raise NotFound(f"no deal with id {instance_id}")
    if not (inst.started_by == user or may_see_process(sg, s, user, s.get(ProcessVersion, inst.process_version_id))):
        raise Refused(f"{user} may not see deal #{instance_id}")
    return inst
