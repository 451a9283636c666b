"""`stagegate worker`'s pass: fire due timers, warn of SLAs about to pass, relay the outbox, send
mail and webhook deliveries; each worker notes its last pass for the administrators' status page."""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import mail, outbox, relay
from .admin import require_admin
from .clock import iso
from .integration_models import MailMessage, OutboxEvent, WebhookDelivery, WorkerBeat
from .models import HumanTask, Instance
from .timers import fire_due_timers


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def raise_sla_warnings(sg, limit: int = 500) -> int:
    """An event (and so mail) once per open task whose due time falls within the warning window."""
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        soon = now + timedelta(hours=sg.integrations.sla_warning_hours)
        tasks = s.execute(select(HumanTask).where(HumanTask.state == "ready", HumanTask.due_at.is_not(None),
                                                  HumanTask.due_at > now, HumanTask.due_at <= soon)
                          .order_by(HumanTask.due_at).limit(limit)).scalars().all()
        keys = {f"sla:{t.id}": t for t in tasks}
        if keys:
            keys = {k: t for k, t in keys.items() if k not in set(s.execute(
                select(OutboxEvent.dedupe_key).where(OutboxEvent.dedupe_key.in_(keys))).scalars())}
        for key, t in keys.items():
            outbox.emit(s, "task.sla_warning", now, s.get(Instance, t.instance_id), dedupe_key=key,
                        task=outbox.task_of(t))
        try:
            uow.commit()
        except IntegrityError:
            return 0  # another worker warned of the same tasks first
        return len(keys)


def worker_pass(sg, wid: str, started_at) -> dict:
    """One pass of everything the worker does; returns counts (also kept as the worker's heartbeat)."""
    r = {"timers": fire_due_timers(sg), "sla_warnings": raise_sla_warnings(sg), "relayed": relay.relay_events(sg),
         "digests": mail.send_digests(sg)}
    r["mail"] = mail.send_due(sg)
    r["webhooks"] = relay.deliver_due(sg)
    with sg.uow() as uow:
        beat = uow.session.get(WorkerBeat, wid)
        if beat is None:
            beat = WorkerBeat(worker_id=wid, started_at=started_at)
            uow.session.add(beat)
        beat.last_seen_at, beat.last_pass = sg.now(), r
        uow.commit()
    return r


def status(sg, actor: str) -> dict:
    """For administrators: each worker's last pass, the outbox backlog, mail and deliveries by state, SMTP."""
    with sg.uow(write=False) as uow:
        s = uow.session
        require_admin(s, actor, "see the worker and mail status")
        now = sg.now()
        workers = [{"worker_id": b.worker_id, "started_at": iso(b.started_at), "last_seen_at": iso(b.last_seen_at),
                    "seconds_ago": int((now - mail.aware(b.last_seen_at)).total_seconds()), "last_pass": b.last_pass}
                   for b in s.execute(select(WorkerBeat).order_by(WorkerBeat.last_seen_at.desc())).scalars()]
        backlog = s.execute(select(func.count()).where(OutboxEvent.relayed_at.is_(None))).scalar()
        oldest = s.execute(select(func.min(OutboxEvent.occurred_at)).where(OutboxEvent.relayed_at.is_(None))).scalar()
        mails = dict(s.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state)).all())
        last_error = s.execute(select(MailMessage.last_error).where(MailMessage.state == "failed")
                               .order_by(MailMessage.id.desc()).limit(1)).scalar()
        hooks = dict(s.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all())
        return {"workers": workers, "outbox_backlog": backlog, "oldest_unrelayed": iso(oldest), "mail": mails,
                "mail_last_error": last_error, "webhooks": hooks, "smtp": sg.integrations.shown()}
