"""Use cases on API tokens: a user creates, lists and revokes their own; requests are checked against them.

A token is 32 random bytes shown once; only its SHA-256 is stored, so a copy of the
database does not let anyone call the API. SHA-256 suffices (no slow hash) because the
token has 256 bits of entropy: there is nothing to guess.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select

from engine import audit
from engine.actors import is_operator, load_user
from engine.clock import iso
from engine.errors import NotFound, Refused
from engine.limits import unstorable
from engine.store.models import ApiToken, User
from engine.store.prepared import Prepared

TOKEN_PREFIX = "sgt_"
MAX_ACTIVE = 20


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row(t: ApiToken) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
            "revoked_at": iso(t.revoked_at), "active": t.revoked_at is None}


def _may_manage(actor: str, owner: str) -> None:
    if actor != owner and not is_operator(actor):
        raise Refused(f"{actor} may not manage {owner}'s API tokens")


def create_token(sg, owner: str, actor: str, name: str) -> dict:
    """A new token for `owner`; the returned "token" is the only time it is ever shown."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Refused("a token needs a name of 1 to 120 characters (e.g. the system that will use it)")
    if unstorable(name):
        raise Refused(f"a token's name may not hold {unstorable(name)}")
    _may_manage(actor, owner)
    with sg.uow() as uow:
        s = uow.session
        user = load_user(s, owner)
        active = s.execute(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
        if len(active) >= MAX_ACTIVE:
            raise Refused(f"{owner} already has {MAX_ACTIVE} active tokens; revoke one first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(user_id=user.id, name=name, token_hash=_digest(token), prefix=token[:10], created_at=sg.now(),
                       created_by=actor)
        s.add(row)
        s.flush()
        audit.record(s, sg.now(), actor, "api_token_created",
                     details={"user": owner, "token_id": row.id, "name": name, "prefix": row.prefix})
        result = {**_row(row), "token": token}
        uow.commit()
    return result


def list_tokens(sg, owner: str, actor: str) -> list[dict]:
    """The owner's tokens, newest first (never the secrets)."""
    _may_manage(actor, owner)
    with sg.uow(write=False) as uow:
        user = load_user(uow.session, owner)
        rows = uow.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())).scalars()
        return [_row(t) for t in rows]


def revoke_token(sg, owner: str, actor: str, token_id: int) -> dict:
    """Revoke one of the owner's tokens at once; revoking twice is harmless."""
    _may_manage(actor, owner)
    with sg.uow() as uow:
        s = uow.session
        user = load_user(s, owner)
        row = s.get(ApiToken, int(token_id))
        if row is None or row.user_id != user.id:
            raise NotFound(f"{owner} has no API token with id {token_id}")
        if row.revoked_at is None:
            _revoke(s, row, owner, sg.now(), actor)
        result = _row(row)
        uow.commit()
    return result


def revoke_tokens_of(s, user: User, now, actor: str, made_signed_in_only: bool) -> list[int]:
    """Inside a use case: revoke the user's active tokens (only those not made by an operator, if asked),
    each with its audit event; returns their ids."""
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    revoked = []
    for row in s.execute(q).scalars():
        if made_signed_in_only and row.created_by is not None and is_operator(row.created_by):
            continue
        _revoke(s, row, user.name, now, actor)
        revoked.append(row.id)
    return revoked


def _revoke(s, row: ApiToken, owner: str, now, actor: str) -> None:
    row.revoked_at = now
    audit.record(s, now, actor, "api_token_revoked",
                 details={"user": owner, "token_id": row.id, "name": row.name, "prefix": row.prefix})


_TOKEN_USER = Prepared(select(User.name).join(ApiToken, ApiToken.user_id == User.id)
                       .where(ApiToken.token_hash == bindparam("h"), ApiToken.revoked_at.is_(None), User.active.is_(True)))


def token_user(sg, token: str) -> str | None:
    """The name of the active user an unrevoked token belongs to, else None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with sg.lone_read() as conn:  # every API request asks: a unit of work would cost it ~0.06 ms more
        return _TOKEN_USER.scalar(conn, {"h": _digest(token)})
