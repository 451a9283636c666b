"""External-task rows in step with the engine, written inside each step (like the inbox's rows).

Also the wake-up for long polls: a step that opens (or a call that frees) external tasks wakes
the fetches waiting in this process once it commits; fetches in other processes see the rows
at their next poll.
"""
from __future__ import annotations

import threading

from sqlalchemy import event, select

from engine import audit
from engine.bpmn.external_checks import priority_of
from engine.store.models import ExternalTask

WAKE = threading.Condition()


def wake_after_commit(s) -> None:
    """Wake this process's waiting fetches once the session's transaction commits."""
    def _wake(_session):
        with WAKE:
            WAKE.notify_all()
    event.listen(s, "after_commit", _wake, once=True)


def sync_external_tasks(s, instance, waiting: list[dict], now, actor: str) -> None:
    """Open a row for each external task the engine now waits on; cancel open rows it no longer does."""
    rows = {r.id: r for r in s.execute(select(ExternalTask).where(
        ExternalTask.instance_id == instance.id, ExternalTask.state == "ready")).scalars()}
    ids = {t["id"] for t in waiting}
    for row in rows.values():
        if row.id not in ids:  # an interrupting event or the end of its branch took it away
            row.state, row.completed_at = "cancelled", now
            row.lock_expires_at = None
            audit.record(s, now, "engine", "external_task_cancelled", instance_id=instance.id,
                         process_id=instance.process_id, version=instance.version, element_id=row.element_id,
                         details={"task_id": row.id, "topic": row.topic, "worker_id": row.worker_id,
                                  "reason": "flow_moved_on", "on_behalf_of": actor})
    opened = [t for t in waiting if t["id"] not in rows and s.get(ExternalTask, t["id"]) is None]
    for t in opened:
        s.add(ExternalTask(id=t["id"], instance_id=instance.id, process_id=instance.process_id,
                           version=instance.version, element_id=t["element_id"], name=t.get("name"),
                           called_process=t["called_process"], topic=t["topic"], priority=priority_of(t),
                           state="ready", created_at=now))
        audit.record(s, now, "engine", "external_task_created", instance_id=instance.id,
                     process_id=instance.process_id, version=instance.version, element_id=t["element_id"],
                     details={"task_id": t["id"], "topic": t["topic"], "element_name": t.get("name"),
                              **({"called_process": t["called_process"]} if t["called_process"] else {}),
                              "on_behalf_of": actor})
    if opened:
        wake_after_commit(s)
