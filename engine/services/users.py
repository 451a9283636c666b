"""Use cases on users and roles."""
from __future__ import annotations

from sqlalchemy import select

from engine import audit
from engine.actors import normalise_roles, roles_of
from engine.admin import require_admin
from engine.errors import Refused
from engine.store.models import User, UserRole
from engine.passwords import hash_password
from engine.readonly import audited_refusals, forbid_auditor_named
from engine.services.sign_in import MAX_NAME, MAX_PASSWORD, forget_failures
from engine.services.tokens import revoke_tokens_of

MIN_PASSWORD = 8


def _check_password_rules(password: str | None) -> None:
    if password is not None and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Refused(f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")


@audited_refusals
def add_user(sg, name: str, roles: list[str], actor: str, password: str | None = None) -> dict:
    """Create a user with roles, or add roles to an existing one."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise Refused(f"a user name must be 1 to {MAX_NAME} characters")
    roles = normalise_roles(roles)
    with sg.uow() as uow:
        s = uow.session
        forbid_auditor_named(s, actor, f"change the roles of '{name}'", user=name)
        require_admin(s, actor, f"add users or change the roles of '{name}'")
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        created = user is None
        _check_password_rules(password)
        if created:
            user = User(name=name, password_hash=hash_password(password) if password else None, active=True,
                        created_at=sg.now(), session_generation=0)
            s.add(user)
        elif password:
            _set_password_hash(s, user, password, sg.now(), actor)
        have = {r.role for r in user.roles}
        added = [r for r in roles if r not in have]
        for r in added:
            user.roles.append(UserRole(role=r))
        if added and not created:
            _end_sessions(user)  # a role change signs the user in again
        if created or added:
            audit.record(s, sg.now(), actor, "user_created" if created else "roles_granted",
                         details={"user": name, "roles": added})
        result = {"name": user.name, "roles": sorted(have | set(added)), "created": created}
        uow.commit()
    return result


@audited_refusals
def set_password(sg, name: str, password: str, actor: str) -> dict:
    """Set a user's password (the user themself, or an operator): every session of the user ends, and
    the API tokens the user made while signed in are revoked (`revoked_tokens`)."""
    _check_password_rules(password or "")
    with sg.uow() as uow:
        if actor != name:  # an auditor may change their own password, no one else's
            forbid_auditor_named(uow.session, actor, f"set the password of '{name}'", user=name)
            require_admin(uow.session, actor, f"set the password of '{name}'")
        user = uow.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            raise Refused(f"no user named '{name}'")
        revoked = _set_password_hash(uow.session, user, password, sg.now(), actor)
        audit.record(uow.session, sg.now(), actor, "password_set", details={"user": name, "revoked_tokens": revoked})
        uow.commit()
    return {"name": name, "revoked_tokens": revoked}


def _set_password_hash(s, user: User, password: str, now, actor: str) -> list[int]:
    """A new password ends the user's sessions, drops the guesses counted against the name, and
    revokes the API tokens the user made while signed in (a thief's among them); returns their ids."""
    user.password_hash = hash_password(password)
    forget_failures(s, user.name)
    _end_sessions(user)
    return revoke_tokens_of(s, user, now, actor, made_signed_in_only=True)


def _end_sessions(user: User) -> None:
    """Every session carries the generation it was signed in at: a new one makes them all stale."""
    user.session_generation = (user.session_generation or 0) + 1


def _user_to_change(s, name: str, actor: str, action: str) -> User:
    forbid_auditor_named(s, actor, f"{action} '{name}'", user=name)
    require_admin(s, actor, f"{action} '{name}'")
    user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise Refused(f"no user named '{name}'")
    return user


@audited_refusals
def deactivate_user(sg, name: str, actor: str) -> dict:
    """Stop a user signing in: every session ends at once and every API token is revoked."""
    with sg.uow() as uow:
        s = uow.session
        user = _user_to_change(s, name, actor, "deactivate")
        revoked = []
        if user.active:
            user.active = False
            _end_sessions(user)
            revoked = revoke_tokens_of(s, user, sg.now(), actor, made_signed_in_only=False)
            audit.record(s, sg.now(), actor, "user_deactivated", details={"user": name, "revoked_tokens": revoked})
        uow.commit()
    return {"name": name, "active": False, "revoked_tokens": revoked}


@audited_refusals
def reactivate_user(sg, name: str, actor: str) -> dict:
    """Let a deactivated user sign in again (the tokens revoked on deactivation stay revoked)."""
    with sg.uow() as uow:
        s = uow.session
        user = _user_to_change(s, name, actor, "reactivate")
        if not user.active:
            user.active = True
            audit.record(s, sg.now(), actor, "user_reactivated", details={"user": name})
        uow.commit()
    return {"name": name, "active": True}


@audited_refusals
def remove_roles(sg, name: str, roles: list[str], actor: str) -> dict:
    """Take roles away from a user; their sessions end, so the next request signs in with what is left."""
    wanted = normalise_roles(roles)
    with sg.uow() as uow:
        s = uow.session
        user = _user_to_change(s, name, actor, "change the roles of")
        removed = [r for r in user.roles if r.role in wanted]
        for r in removed:
            user.roles.remove(r)
        if removed:
            _end_sessions(user)
            audit.record(s, sg.now(), actor, "roles_revoked", details={"user": name, "roles": [r.role for r in removed]})
        result = {"name": name, "roles": sorted(roles_of(user))}
        uow.commit()
    return result


def sign_out(sg, name: str, generation: int) -> None:
    """End every session of `name` (all devices): each carries the generation this bumps."""
    with sg.uow() as uow:
        user = uow.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is not None and user.session_generation == generation:
            _end_sessions(user)
            audit.record(uow.session, sg.now(), name, "signed_out", details={})
        uow.commit()


def session_user(sg, name: str, generation: int) -> dict | None:
    """Name and roles of an active user whose sessions of `generation` still count, else None."""
    with sg.uow(write=False) as uow:
        user = uow.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None or not user.active or user.session_generation != generation:
            return None
        return {"name": user.name, "roles": sorted(roles_of(user)), "session_generation": generation}
