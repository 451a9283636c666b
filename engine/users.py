"""Use cases on users and roles."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from . import audit
from .actors import normalise_roles, roles_of
from .clock import iso
from .errors import Refused
from .models import User, UserRole
from .passwords import check_password, hash_password
from .readonly import audited_refusals, forbid_auditor_named

log = logging.getLogger("stagegate.auth")

FREE_ATTEMPTS = 3  # wrong passwords allowed before each further try must wait
MAX_WAIT_S = 300
MIN_PASSWORD = 8


@audited_refusals
def add_user(sg, name: str, roles: list[str], actor: str, password: str | None = None) -> dict:
    """Create a user with roles, or add roles to an existing one."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Refused("a user name must be 1 to 120 characters")
    roles = normalise_roles(roles)
    with sg.uow() as uow:
        s = uow.session
        forbid_auditor_named(s, actor, f"change the roles of '{name}'", user=name)
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        created = user is None
        if password is not None and len(password) < MIN_PASSWORD:
            raise Refused(f"a password must have at least {MIN_PASSWORD} characters")
        if created:
            user = User(name=name, password_hash=hash_password(password) if password else None, active=True,
                        created_at=sg.now(), failed_logins=0)
            s.add(user)
        elif password:
            user.password_hash = hash_password(password)
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


@audited_refusals
def set_password(sg, name: str, password: str, actor: str) -> None:
    """Set a user's password (the user themself, or an operator)."""
    if len(password or "") < MIN_PASSWORD:
        raise Refused(f"a password must have at least {MIN_PASSWORD} characters")
    with sg.uow() as uow:
        if actor != name:  # an auditor may change their own password, no one else's
            forbid_auditor_named(uow.session, actor, f"set the password of '{name}'", user=name)
        user = uow.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            raise Refused(f"no user named '{name}'")
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        audit.record(uow.session, sg.now(), actor, "password_set", details={"user": name})
        uow.commit()


def _wait_seconds(failures: int) -> int:
    return 0 if failures < FREE_ATTEMPTS else min(MAX_WAIT_S, 2 ** (failures - FREE_ATTEMPTS + 1))


def authenticate(sg, name: str, password: str, source: str = "") -> dict:
    """The signed-in user's name and roles, or Refused. Wrong passwords are audited and,
    after a few, each further attempt for that name must wait longer (up to 5 minutes)."""
    now = sg.now()
    with sg.uow() as uow:
        s = uow.session
        user = s.execute(select(User).where(User.name == (name or "").strip())).scalar_one_or_none()
        if user is not None and user.failed_logins and user.last_failed_login_at is not None:
            last = user.last_failed_login_at
            if last.tzinfo is None:
                last = last.replace(tzinfo=now.tzinfo)
            ready_at = last + timedelta(seconds=_wait_seconds(user.failed_logins))
            if now < ready_at:
                wait = int((ready_at - now).total_seconds()) + 1
                log.warning("sign-in for %r from %s refused: %d failures, must wait %ds", name, source,
                            user.failed_logins, wait)
                audit.record(s, now, user.name, "sign_in_failed",
                             details={"user": user.name, "source": source, "reason": f"throttled for {wait} s"})
                uow.commit()
                raise Refused(f"too many wrong passwords; try again in {wait} seconds")
        if user is None or not user.active or not check_password(user.password_hash, password or ""):
            if user is not None:
                user.failed_logins = (user.failed_logins or 0) + 1
                user.last_failed_login_at = now
            audit.record(s, now, name or "?", "sign_in_failed", details={"user": name, "source": source})
            uow.commit()
            log.warning("wrong password for %r from %s", name, source)
            raise Refused("wrong user name or password")
        user.failed_logins, user.last_failed_login_at = 0, None
        audit.record(s, now, user.name, "signed_in", details={"source": source})
        result = {"name": user.name, "roles": sorted(roles_of(user)), "signed_in_at": iso(now)}
        uow.commit()
    return result


def user_roles(sg, name: str) -> dict | None:
    """Name and roles of an active user (for a session), or None."""
    with sg.uow(write=False) as uow:
        user = uow.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None or not user.active:
            return None
        return {"name": user.name, "roles": sorted(roles_of(user))}
