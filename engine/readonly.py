"""Auditors read everything and change nothing: each attempt is refused, and the refusal audited.

A refused use case rolls back its own transaction, so the refusal is written afterwards in a
transaction of its own (`audited_refusals` wraps the use case and does that).
"""
from __future__ import annotations

from functools import wraps

from sqlalchemy import select

from engine import audit
from engine.actors import is_operator, roles_of
from engine.errors import Refused
from engine.store.models import User
from engine.roles import AUDITOR_ROLE


class ReadOnlyRefused(Refused):
    """An auditor tried to change something."""

    def __init__(self, actor: str, action: str, instance_id: int | None = None, **target):
        self.actor, self.action, self.instance_id, self.target = actor, action, instance_id, target
        super().__init__(f"{actor} is an auditor and may not {action}: auditors read, they change nothing "
                         "(this attempt was recorded)")


def is_auditor(user: User | None) -> bool:
    """True if `user` holds the auditor role."""
    return user is not None and AUDITOR_ROLE in roles_of(user)


def forbid_auditor(actor: User | None, action: str, instance_id: int | None = None, **target) -> None:
    """Inside a use case: raise ReadOnlyRefused when `actor` is an auditor."""
    if is_auditor(actor):
        raise ReadOnlyRefused(actor.name, action, instance_id, **target)


def forbid_auditor_named(session, actor: str, action: str, **target) -> None:
    """Like forbid_auditor, for use cases whose actor may be an operator or not a user at all."""
    if is_operator(actor):
        return
    forbid_auditor(session.execute(select(User).where(User.name == actor)).scalar_one_or_none(), action, **target)


def record_refusal(sg, exc: ReadOnlyRefused) -> None:
    """Write the refused attempt, in a transaction of its own."""
    with sg.uow() as uow:
        audit.record(uow.session, sg.now(), exc.actor, "refused", instance_id=exc.instance_id,
                     details={"action": exc.action, "reason": "auditors may not change anything", **exc.target})
        uow.commit()


def audited_refusals(use_case):
    """Decorator for a use case `fn(sg, ...)`: an auditor's refused attempt is audited, then re-raised."""
    @wraps(use_case)
    def wrapped(sg, *args, **kwargs):
        try:
            return use_case(sg, *args, **kwargs)
        except ReadOnlyRefused as exc:
            record_refusal(sg, exc)
            raise
    return wrapped


@audited_refusals
def refuse_if_auditor(sg, actor: str, action: str, instance_id: int | None = None, **target) -> None:
    """Outside a use case (e.g. before a web form is handled): refuse and audit an auditor's attempt."""
    with sg.uow(write=False) as uow:
        forbid_auditor_named(uow.session, actor, action, instance_id=instance_id, **target)
