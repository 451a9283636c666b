"""Who is acting: users, their roles, and the checks every use case makes."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from engine.bpmn.diagram_model import role_key
from engine.errors import NotFound, Refused
from engine.limits import shown, unstorable
from engine.store.models import User, UserRole
from engine.store.prepared import Prepared

# Operators at the shell act as "cli:<name>"; they are trusted like a database admin.
OPERATOR_PREFIX = "cli:"


def is_operator(actor: str) -> bool:
    return actor.startswith(OPERATOR_PREFIX)


def load_user(session: Session, name: str) -> User:
    """The active user called `name`, or NotFound."""
    if unstorable(name):  # no user can be called that, and PostgreSQL would refuse to look
        raise NotFound(f"no active user named '{shown(name)}'")
    # The roles in the same statement: every use case checks them.
    user = session.execute(select(User).options(joinedload(User.roles)).where(User.name == name)) \
        .unique().scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"no active user named '{name}'")
    return user


_ACTOR = Prepared(select(User.__table__.c.id, User.__table__.c.name, User.__table__.c.active, UserRole.__table__.c.role)
                   .outerjoin(UserRole.__table__, UserRole.__table__.c.user_id == User.__table__.c.id)
                   .where(User.__table__.c.name == bindparam("name")))


def load_actor(session: Session, name: str) -> SimpleNamespace:
    """The active user called `name` as a read-only record (id, name, active, roles), or NotFound:
    what a step's checks read, in one prebuilt statement instead of the ORM's load (the hot path)."""
    if unstorable(name):
        raise NotFound(f"no active user named '{shown(name)}'")
    rows = _ACTOR.rows(session, {"name": name})
    if not rows or not rows[0]["active"]:
        raise NotFound(f"no active user named '{name}'")
    return SimpleNamespace(id=rows[0]["id"], name=rows[0]["name"], active=True,
                           roles=[SimpleNamespace(role=r["role"]) for r in rows if r["role"] is not None])


def roles_of(user: User) -> set[str]:
    return {r.role for r in user.roles}


def require_any_role(user: User, roles: list[str], what: str) -> None:
    """Refuse unless the user holds one of `roles` (already case-folded)."""
    if not roles:
        return
    if not roles_of(user) & set(roles):
        raise Refused(f"{user.name} may not {what}: it needs the role "
                      f"{' or '.join(repr(r) for r in roles)}, and {user.name} holds "
                      f"{', '.join(repr(r) for r in sorted(roles_of(user))) or 'no role'}")


def normalise_roles(roles) -> list[str]:
    out = []
    for r in roles:
        key = role_key(r)
        if key and key not in out:
            out.append(key)
    return out
