"""`stagegate worker`'s pass: fire due timers, start the deals of due timer start events, warn of SLAs
about to pass, relay the outbox, send mail and webhook deliveries; each worker notes its last pass
for the administrators' status page."""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.services import mail, outbox, relay
from engine.services.start_timers import start_due_deals
from engine.services.timers import fire_due_timers
from engine.store.models import HumanTask, Instance, OutboxEvent, WorkerBeat


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
    r = {"timers": fire_due_timers(sg), "timer_starts": start_due_deals(sg), "sla_warnings": raise_sla_warnings(sg), "relayed": relay.relay_events(sg),
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
