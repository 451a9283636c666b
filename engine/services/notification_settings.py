"""Use cases on how a person hears from Stagegate: their mail address and whether tasks opening for
their roles mail them at once, in a daily digest, or not at all; and the mail sent to them."""
from __future__ import annotations

import re

from engine import audit
from engine.actors import load_user
from engine.admin import require_admin
from engine.clock import iso
from engine.errors import FormInvalid
from engine.store.models import NotificationSetting

TASK_MAIL = ("immediate", "digest", "off")
ADDRESS = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,255}$")


def _may_change(s, actor: str, name: str) -> None:
    if actor != name:
        require_admin(s, actor, f"change the mail settings of '{name}'")


def settings_of(sg, actor: str, name: str) -> dict:
    """A person's mail settings (their own, or anyone's for an Administrator)."""
    with sg.uow(write=False) as uow:
        _may_change(uow.session, actor, name)
        row = uow.session.get(NotificationSetting, name)
        return {"user": name, "email": row.email if row else None, "task_mail": row.task_mail if row else "immediate",
                "digest_sent_at": iso(row.digest_sent_at) if row else None}


def set_settings(sg, actor: str, name: str, email: str | None = None, task_mail: str | None = None) -> dict:
    """Set a person's mail address ('' clears it) and task mail choice; audited."""
    errors = {}
    if email is not None:
        email = email.strip()
        if email and not ADDRESS.match(email):
            errors["email"] = "must be one mail address, e.g. sam@example.com"
    if task_mail is not None and task_mail not in TASK_MAIL:
        errors["task_mail"] = f"must be one of {', '.join(TASK_MAIL)}"
    if errors:
        raise FormInvalid(errors)
    with sg.uow() as uow:
        s = uow.session
        _may_change(s, actor, name)
        load_user(s, name)
        row = s.get(NotificationSetting, name)
        if row is None:
            row = NotificationSetting(user_name=name, task_mail="immediate")
            s.add(row)
        changes = {}
        if email is not None and (email or None) != row.email:
            row.email = changes["email"] = email or None
        if task_mail is not None and task_mail != row.task_mail:
            row.task_mail = changes["task_mail"] = task_mail
        if changes:
            audit.record(s, sg.now(), actor, "mail_settings_changed", details={"user": name, **changes})
        uow.commit()
    return settings_of(sg, actor, name)
