"""Mail to people: made by the relay from committed events (so a rolled-back step mails no one),
sent by the worker over SMTP outside any step (a mail server that is down delays mail, never a
step). A task opening for someone's role mails them at once or in their daily digest, as they
chose on their account page; assignments, SLA warnings and escalations always go at once."""
from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import or_, select

from engine.store.models import MailMessage, NotificationSetting
from engine.store.models import User, UserRole

LEASE = timedelta(minutes=2)
FIRST_RETRY, MAX_RETRY = 60.0, 3600.0  # seconds; doubling while the server is down
GIVE_UP = timedelta(days=3)  # mail that could not go out for this long is dead (kept, with its error)
PERMANENT = "permanent: "
BATCH = 100


def _recipients(s, task: dict) -> list[str]:
    """Active users who may work the task: holders of its roles, and its candidate users."""
    names = set(task.get("candidate_users") or [])
    if task.get("roles"):
        names |= set(s.execute(select(User.name).join(UserRole, UserRole.user_id == User.id)
                               .where(UserRole.role.in_(task["roles"]))).scalars())
    if not names:
        return []
    return sorted(s.execute(select(User.name).where(User.name.in_(names), User.active.is_(True))).scalars())


def _settings(s, names: list[str]) -> dict[str, NotificationSetting]:
    if not names:
        return {}
    return {n.user_name: n for n in s.execute(select(NotificationSetting)
                                               .where(NotificationSetting.user_name.in_(names))).scalars()}


def _deal_line(data: dict) -> str:
    deal = data.get("deal") or {}
    return f"deal #{deal.get('id')} {deal.get('title') or ''}".strip()


def _mails_for(s, ev) -> list[tuple[list[str], str, str, str, bool]]:
    """(recipients, kind, subject, text, may wait for the digest) for one event."""
    d, task = ev.data, ev.data.get("task") or {}
    name, deal = task.get("name"), _deal_line(ev.data)
    if ev.type == "task.created" and not d.get("escalates"):
        if task.get("claimed_by"):
            return [([task["claimed_by"]], "task_assigned", f"Assigned to you: {name}",
                     f"'{name}' on {deal} opened assigned to you.", False)]
        return [(_recipients(s, task), "task_opened", f"New task for your role: {name}",
                 f"'{name}' on {deal} is waiting for {' or '.join(task.get('roles') or ['you'])}.", True)]
    if ev.type == "task.assigned":
        return [([d.get("assigned_to")], "task_assigned", f"Assigned to you: {name}",
                 f"{d.get('assigned_by')} gave you '{name}' on {deal}.", False)]
    if ev.type == "task.escalated":
        return [(_recipients(s, task), "escalated", f"Escalated to you: {name}",
                 f"'{d.get('escalates')}' on {deal} is overdue and has been escalated to you: '{name}'.", False)]
    if ev.type == "task.sla_warning":
        who = [task["claimed_by"]] if task.get("claimed_by") else _recipients(s, task)
        return [(who, "sla_warning", f"Due soon: {name}",
                 f"'{name}' on {deal} is due at {task.get('due_at')} UTC.", False)]
    return []


def queue_for_event(s, cfg, ev, now) -> int:
    """Queue the mail one committed event causes, in the relay's transaction; returns how many."""
    made = 0
    for names, kind, subject, text, digestible in _mails_for(s, ev):
        prefs = _settings(s, names)
        task_id = (ev.data.get("task") or {}).get("id")
        for name in filter(None, names):
            pref = prefs.get(name)
            mode = pref.task_mail if pref is not None else "immediate"
            if digestible and mode == "off":
                continue
            state = "digest" if digestible and mode == "digest" else "pending"
            queue(s, cfg, name, pref.email if pref else None, kind, subject, text, f"/tasks/{task_id}", now, state)
            made += 1
    return made


def queue(s, cfg, user_name: str, address: str | None, kind: str, subject: str, text: str, path: str | None,
          now, state: str = "pending") -> MailMessage:
    """Queue one mail to `address` in the caller's transaction (sent only if it commits); `path` is the
    page the mail links to."""
    if address is None and state == "pending":
        state = "no_address"
    link = f"\n\nOpen it: {cfg.base_url.rstrip('/')}{path}" if path else ""
    subject = " ".join(subject.split())[:300]  # names from diagrams may hold line breaks: never in a header
    row = MailMessage(user_name=user_name, address=address, kind=kind, subject=subject,
                      body=f"Hello {user_name},\n\n{text}{link}\n\n-- Stagegate", state=state, attempts=0,
                      created_at=now, next_attempt_at=now)
    s.add(row)
    return row


def notify_person(s, cfg, user_name: str, kind: str, subject: str, text: str, path: str | None, now) -> MailMessage:
    """Mail one person at their address, in the caller's transaction (sent only if it commits): the
    hook for other features, e.g. `notify_person(s, sg.integrations, "fiona", "mentioned", ...)`."""
    pref = s.get(NotificationSetting, user_name)
    return queue(s, cfg, user_name, pref.email if pref else None, kind, subject, text, path, now)


def send_due(sg) -> dict:
    """Send the pending mail (one SMTP connection per pass); without SMTP settings keep it as a log."""
    cfg = sg.integrations
    batch = _claim(sg)
    if not batch:
        return {"sent": 0, "failed": 0, "logged": 0}
    if not cfg.smtp_host:
        return _finish(sg, {m["id"]: None for m in batch}, logged=True)
    results = {}
    try:
        with _connect(cfg) as smtp:
            for m in batch:
                try:
                    smtp.send_message(_message(cfg, m))
                    results[m["id"]] = None
                except smtplib.SMTPRecipientsRefused as exc:  # the server will not take it: no use retrying
                    results[m["id"]] = f"{PERMANENT}recipient refused: {exc.recipients}"
    except (OSError, smtplib.SMTPException) as exc:  # server down, TLS or login failed: all wait
        for m in batch:
            results.setdefault(m["id"], f"{type(exc).__name__}: {exc}")
    return _finish(sg, results)


def _connect(cfg) -> smtplib.SMTP:
    if cfg.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
        if cfg.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if cfg.smtp_user:
        smtp.login(cfg.smtp_user, cfg.smtp_password or "")
    return smtp


def _message(cfg, m: dict) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg.mail_from, m["address"], m["subject"]
    msg["Message-ID"] = make_msgid(idstring=f"stagegate-mail-{m['id']}", domain="stagegate.local")
    msg.set_content(m["body"])
    return msg


def _claim(sg) -> list[dict]:
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        rows = s.execute(select(MailMessage).where(MailMessage.state.in_(("pending", "failed")),
                                                   MailMessage.next_attempt_at <= now)
                         .order_by(MailMessage.id).limit(BATCH).with_for_update(skip_locked=True)).scalars().all()
        for m in rows:
            m.attempts += 1
            m.next_attempt_at = now + LEASE
        out = [{"id": m.id, "address": m.address, "subject": m.subject, "body": m.body} for m in rows]
        uow.commit()
        return out


def _finish(sg, results: dict, logged: bool = False) -> dict:
    counts = {"sent": 0, "failed": 0, "logged": 0}
    with sg.uow() as uow:
        now = sg.now()
        for m in uow.session.execute(select(MailMessage).where(MailMessage.id.in_(results))).scalars():
            error = results[m.id]
            if error is None:
                m.state, m.sent_at, m.last_error = ("logged" if logged else "sent"), now, None
                counts["logged" if logged else "sent"] += 1
            elif error.startswith(PERMANENT) or now - aware(m.created_at) > GIVE_UP:
                m.state, m.last_error, m.next_attempt_at = "dead", error.removeprefix(PERMANENT)[:2000], None
                counts["failed"] += 1
            else:
                wait = min(FIRST_RETRY * 2 ** (m.attempts - 1), MAX_RETRY)
                m.state, m.last_error, m.next_attempt_at = "failed", error[:2000], now + timedelta(seconds=wait)
                counts["failed"] += 1
        uow.commit()
    return counts


def send_digests(sg) -> int:
    """Once a day from the digest hour, fold each person's waiting task mail into one; returns how many."""
    cfg = sg.integrations
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        if now.hour < cfg.digest_hour:
            return 0
        today = now.replace(hour=cfg.digest_hour, minute=0, second=0, microsecond=0)
        due = s.execute(select(NotificationSetting).where(
            NotificationSetting.task_mail == "digest",
            or_(NotificationSetting.digest_sent_at.is_(None), NotificationSetting.digest_sent_at < today))
            .with_for_update(skip_locked=True)).scalars().all()
        made = 0
        for pref in due:
            items = s.execute(select(MailMessage).where(MailMessage.user_name == pref.user_name,
                                                        MailMessage.state == "digest").order_by(MailMessage.id)).scalars().all()
            pref.digest_sent_at = now
            if not items:
                continue
            lines = [f"- {m.subject.removeprefix('New task for your role: ')}: {_link_of(m.body)}" for m in items]
            queue(s, cfg, pref.user_name, pref.email, "digest", f"Your Stagegate digest: {len(items)} new tasks",
                  "Tasks that opened for your roles since your last digest:\n" + "\n".join(lines), "/", now)
            for m in items:
                m.state = "included"
            made += 1
        uow.commit()
        return made


def _link_of(body: str) -> str:
    return next((line.removeprefix("Open it: ") for line in body.splitlines() if line.startswith("Open it: ")), "")


def aware(dt):
    """A stored instant as aware UTC (SQLite reads naive)."""
    return None if dt is None else (dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc))
