"""Signing in: one answer at one cost for every failure, wrong passwords throttled per name and address.

Whether a name exists must not show: an unknown name, an inactive user and a wrong password get
the same message, and each costs one scrypt (a dummy hash stands in for a missing one). Wrong
passwords are counted per (name, source address), under that row's lock, so parallel guesses
are counted one by one and guesses from one address never lock out the user at another. Failed
sign-ins are audited as `anonymous` (nobody proved who they are), the name tried in the details,
so an attempted name never becomes an actor.
"""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import audit
from engine.actors import roles_of
from engine.clock import iso
from engine.errors import Refused
from engine.store.models import SignInFailures, User
from engine import passwords
from engine.passwords import check_password, hash_password

log = logging.getLogger("stagegate.auth")

ANONYMOUS = "anonymous"  # the actor of a failed sign-in
MAX_NAME = 120  # as users.name
MAX_PASSWORD = 1024
MAX_SOURCE = 64
FREE_ATTEMPTS = 3  # wrong passwords from one address allowed before each further try must wait
MAX_WAIT_S = 300
FORGET_AFTER = timedelta(days=1)  # a count is dropped a day after its last wrong password
WRONG = "wrong user name or password"


@cache
def _dummy_hash(_cost: int) -> str:
    """A hash at the cost new ones are made with, checked when a name has none."""
    return hash_password(secrets.token_hex(16))


def wait_seconds(failures: int) -> int:
    """How long after the last wrong password the next try must wait."""
    return 0 if failures < FREE_ATTEMPTS else min(MAX_WAIT_S, 2 ** (failures - FREE_ATTEMPTS + 1))


def _locked_failures(s, name: str, source: str, now) -> SignInFailures:
    """The failure count of (name, source), its row locked until the transaction ends (made if missing)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(SignInFailures).values(name=name, source=source, failures=0, last_failed_at=now)
              .on_conflict_do_nothing())
    return s.execute(select(SignInFailures).where(SignInFailures.name == name, SignInFailures.source == source)
                     .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _storable(text: str) -> str:
    """`text` with what no database stores (NUL, lone surrogates) shown as U+FFFD: no user's name
    holds them, so such a name is simply wrong, and is still counted and audited."""
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def _attempt(name: str, source: str) -> dict:
    """The audit details of an attempt: the name as tried, cut to MAX_NAME characters."""
    details = {"user": name[:MAX_NAME], "source": source}
    if len(name) > MAX_NAME:
        details["name_length"] = len(name)
    return details


def authenticate(sg, name: str, password: str, source: str = "") -> dict:
    """The signed-in user's name, roles and session generation, or Refused (the same answer whatever
    was wrong). After FREE_ATTEMPTS wrong passwords for a name from one address, each further try
    from there must wait longer, up to 5 minutes."""
    now = sg.now()
    tried = _storable((name or "").strip())
    key, source, password = tried[:MAX_NAME], _storable((source or "")[:MAX_SOURCE]), password or ""
    with sg.uow() as uow:
        s = uow.session
        count = _locked_failures(s, key, source, now)
        last = count.last_failed_at if count.last_failed_at.tzinfo else count.last_failed_at.replace(tzinfo=now.tzinfo)
        ready_at = last + timedelta(seconds=wait_seconds(count.failures))
        if now < ready_at:
            wait = int((ready_at - now).total_seconds()) + 1
            log.warning("sign-in for %r from %s refused: %d failures, must wait %ds", key, source, count.failures, wait)
            audit.record(s, now, ANONYMOUS, "sign_in_failed",
                         details={**_attempt(tried, source), "reason": f"throttled for {wait} s"})
            uow.commit()
            raise Refused(f"too many wrong passwords; try again in {wait} seconds")
        user = s.execute(select(User).where(User.name == key)).scalar_one_or_none() if len(tried) <= MAX_NAME else None
        stored = user.password_hash if user is not None and user.password_hash else None
        # The same cost either way: a name without a password is checked against a dummy hash.
        matches = check_password(stored or _dummy_hash(passwords.SCRYPT_N), password[:MAX_PASSWORD])
        if not (matches and stored and user.active and len(password) <= MAX_PASSWORD):
            count.failures, count.last_failed_at = count.failures + 1, now
            _forget_old(s, now)
            audit.record(s, now, ANONYMOUS, "sign_in_failed", details=_attempt(tried, source))
            uow.commit()
            log.warning("wrong password for %r from %s", key, source)
            raise Refused(WRONG)
        s.delete(count)
        audit.record(s, now, user.name, "signed_in", details={"source": source})
        result = {"name": user.name, "roles": sorted(roles_of(user)), "signed_in_at": iso(now),
                  "session_generation": user.session_generation}
        uow.commit()
    return result


def _forget_old(s, now) -> None:
    # Rows another sign-in holds are skipped (SKIP LOCKED), so two purges never wait on each other.
    old = (select(SignInFailures.name, SignInFailures.source).where(SignInFailures.last_failed_at < now - FORGET_AFTER)
           .limit(100).with_for_update(skip_locked=True))
    s.execute(delete(SignInFailures).where(tuple_(SignInFailures.name, SignInFailures.source).in_(old)))


def forget_failures(s, name: str) -> None:
    """Drop every failure count of `name` (a new password was set: the old guesses no longer matter)."""
    s.execute(delete(SignInFailures).where(SignInFailures.name == name))
