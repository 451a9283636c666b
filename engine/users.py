"""Use cases on users and roles."""
from __future__ import annotations

from sqlalchemy import select

from . import audit
from .actors import normalise_roles
from .errors import Refused
from .models import User, UserRole


def add_user(sg, name: str, roles: list[str], actor: str, password_hash: str | None = None) -> dict:
    """Create a user with roles, or add roles to an existing one."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Refused("a user name must be 1 to 120 characters")
    roles = normalise_roles(roles)
    with sg.uow() as uow:
        s = uow.session
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        created = user is None
        if created:
            user = User(name=name, password_hash=password_hash, active=True, created_at=sg.now())
            s.add(user)
        have = {r.role for r in user.roles}
        added = [r for r in roles if r not in have]
        for r in added:
            user.roles.append(UserRole(role=r))
        if created or added:
            audit.record(s, sg.now(), actor, "user_created" if created else "roles_granted",
                         details={"user": name, "roles": added})
        result = {"name": user.name, "roles": sorted(have | set(added)), "created": created}
        uow.commit()
    return result
