"""Comments on a deal, with @name mentions that notify the people named (in the app; mail hooks in).

A comment is for the deal's team: only people who may see the deal may write one, and only they
are notified when mentioned (a mention of anyone else is reported back, not delivered). The audit
event is written in the comment's own transaction.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from engine import audit
from engine.actors import load_user
from engine.clock import iso
from engine.store.models.collab import Comment, Notification
from engine.errors import FormInvalid, NotFound, Refused
from engine.limits import unstorable
from engine.store.models import User
from engine.readonly import audited_refusals, forbid_auditor
from engine.services import mail
from engine.visibility import visible_deal

MAX_COMMENT = 5000  # characters
# @name: a user name's characters, not ending in a full stop or hyphen ("thanks @lena." names lena).
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9](?:[A-Za-z0-9_.-]{0,118}[A-Za-z0-9_])?)")
def mentioned_names(body: str) -> list[str]:
    """The @names in a comment, in order, each once."""
    return list(dict.fromkeys(MENTION.findall(body or "")))


def _comment_row(c: Comment) -> dict:
    return {"id": c.id, "instance_id": c.instance_id, "author": c.author, "body": c.body,
            "mentions": list(c.mentions or []), "at": iso(c.created_at)}


@audited_refusals
def add_comment(sg, instance_id: int, actor: str, body: str) -> dict:
    """Comment on a deal; people @mentioned who may see it are notified. Returns the comment, with
    `not_notified`: the mentioned names that are no user or may not see the deal."""
    text = (body or "").strip()
    if not text:
        raise FormInvalid(errors={"body": "is empty"}, values={"body": body})
    if len(text) > MAX_COMMENT:
        raise FormInvalid(errors={"body": f"must be at most {MAX_COMMENT:,} characters"}, values={"body": body})
    bad = unstorable(text)
    if bad:
        raise FormInvalid(errors={"body": f"holds {bad}"}, values={"body": body})
    with sg.uow() as uow:
        s = uow.session
        who = load_user(s, actor)
        forbid_auditor(who, "comment on a deal", int(instance_id))
        inst = visible_deal(sg, s, instance_id, actor)
        notified, missed = [], []
        for name in mentioned_names(text):
            user = s.execute(select(User).where(func.lower(User.name) == name.lower())).scalar_one_or_none()
            try:
                if user is None or not user.active:
                    raise NotFound(name)
                visible_deal(sg, s, inst.id, user.name)
            except (NotFound, Refused):
                missed.append(name)
                continue
            if user.name != actor and user.name not in notified:
                notified.append(user.name)
        now = sg.now()
        comment = Comment(instance_id=inst.id, author=actor, body=text, mentions=notified, created_at=now)
        s.add(comment)
        s.flush()
        for name in notified:
            note = Notification(user_name=name, kind="mention", instance_id=inst.id, comment_id=comment.id,
                                actor=actor, text=f"{actor} mentioned you on {inst.title or f'deal #{inst.id}'}",
                                created_at=now)
            s.add(note)
            s.flush()
            # The mail is queued in this transaction: a comment that rolls back mails no one.
            mail.notify_person(s, sg.integrations, name, "mentioned", note.text, f"{note.text}:\n\n{text}",
                               f"/deals/{inst.id}", now)
        audit.record(s, now, actor, "comment_added", instance_id=inst.id, process_id=inst.process_id,
                     version=inst.version, details={"comment_id": comment.id, "body": text, "mentions": notified})
        row = _comment_row(comment)
        uow.commit()
    return {**row, "not_notified": missed}


def comments(sg, instance_id: int, user: str) -> list[dict]:
    """The deal's comments, oldest first (for a user who may see the deal)."""
    with sg.uow(write=False) as uow:
        visible_deal(sg, uow.session, instance_id, user)
        return [_comment_row(c) for c in uow.session.execute(
            select(Comment).where(Comment.instance_id == int(instance_id)).order_by(Comment.id)).scalars()]


def _notification_row(n: Notification) -> dict:
    return {"id": n.id, "user": n.user_name, "kind": n.kind, "instance_id": n.instance_id,
            "comment_id": n.comment_id, "actor": n.actor, "text": n.text, "at": iso(n.created_at),
            "read": n.read_at is not None}


def notifications(sg, user: str, limit: int = 100) -> list[dict]:
    """`user`'s notifications, newest first."""
    with sg.uow(write=False) as uow:
        return [_notification_row(n) for n in uow.session.execute(
            select(Notification).where(Notification.user_name == user)
            .order_by(Notification.id.desc()).limit(limit)).scalars()]


def unread_count(sg, user: str) -> int:
    """How many of `user`'s notifications are unread (the badge)."""
    with sg.uow(write=False) as uow:
        return uow.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_name == user, Notification.read_at.is_(None))).scalar_one()


def open_notification(sg, user: str, notification_id: int) -> dict | None:
    """Mark one of `user`'s notifications read and return it (None: not theirs, or none such)."""
    with sg.uow() as uow:
        n = uow.session.get(Notification, int(notification_id))
        if n is None or n.user_name != user:
            return None
        if n.read_at is None:
            n.read_at = sg.now()
        row = _notification_row(n)
        uow.commit()
    return row


def mark_read(sg, user: str) -> int:
    """Mark all of `user`'s notifications read; how many changed."""
    with sg.uow() as uow:
        n = uow.session.execute(update(Notification).where(
            Notification.user_name == user, Notification.read_at.is_(None)).values(read_at=sg.now())).rowcount
        uow.commit()
    return n
