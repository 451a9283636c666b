"""Who may administer the installation: users holding the Administrator role, and operators at the
shell. Administering grants no deal data: only the roles that read deals do."""
from __future__ import annotations

from sqlalchemy import select

from engine.actors import is_operator, roles_of
from engine.errors import Refused
from engine.roles import ADMIN_ROLE
from engine.store.models import User


def is_admin(user: User | None) -> bool:
    """True if `user` holds the Administrator role."""
    return user is not None and user.active and ADMIN_ROLE in roles_of(user)


def require_admin(s, actor: str, what: str) -> None:
    """Refuse unless `actor` is an active Administrator or an operator at the shell."""
    if is_operator(actor):
        return
    user = s.execute(select(User).where(User.name == actor)).scalar_one_or_none()
    if not is_admin(user):
        raise Refused(f"{actor} may not {what}: it needs the role 'administrator'")
