"""External-task rows in step with the engine, written inside each step (like the inbox's rows).

Also the wake-up for long polls: a step that opens (or a call that frees) external tasks wakes
the fetches waiting in this process once it commits; fetches in other processes see the rows
at their next poll.
"""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine import audit
from engine.bpmn.external_checks import priority_of
from engine.store import deal_rows
from engine.store.models import ExternalTask

WAKE = threading.Condition()
_WAKE_ON_COMMIT = "stagegate_wake_fetches"  # session.info: the transaction opened external tasks
EXTERNAL = ExternalTask.__table__


def wake_after_commit(s) -> None:
    """Wake this process's waiting fetches once the session's transaction commits."""
    s.info[_WAKE_ON_COMMIT] = True


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    if session.info.pop(_WAKE_ON_COMMIT, False):
        with WAKE:
            WAKE.notify_all()


@event.listens_for(Session, "after_rollback")
def _no_wake(session: Session) -> None:
    session.info.pop(_WAKE_ON_COMMIT, None)


def sync_external_tasks(s, instance, waiting: list[dict], now, actor: str) -> None:
    """Open a row for each external task the engine now waits on; cancel open rows it no longer does."""
    ids = {t["id"] for t in waiting}
    rows = deal_rows.open_and_named(s, EXTERNAL, "ready", instance, ids)
    gone = [row for row in rows.values() if row.state == "ready" and row.id not in ids]
    for row in gone:  # an interrupting event or the end of its branch took it away
        row.state, row.completed_at, row.lock_expires_at = "cancelled", now, None
        audit.record(s, now, "engine", "external_task_cancelled", instance_id=instance.id,
                     process_id=instance.process_id, version=instance.version, element_id=row.element_id,
                     details={"task_id": row.id, "topic": row.topic, "worker_id": row.worker_id,
                              "reason": "flow_moved_on", "on_behalf_of": actor})
    deal_rows.update_rows(s, EXTERNAL, gone, ("state", "completed_at", "lock_expires_at"))
    opened = [t for t in waiting if t["id"] not in rows]
    deal_rows.insert_rows(s, EXTERNAL, [
        deal_rows.new_row(EXTERNAL, id=t["id"], instance_id=instance.id, process_id=instance.process_id,
                          version=instance.version, element_id=t["element_id"], name=t.get("name"),
                          called_process=t["called_process"], topic=t["topic"], priority=priority_of(t),
                          state="ready", created_at=now)
        for t in opened])
    for t in opened:
        audit.record(s, now, "engine", "external_task_created", instance_id=instance.id,
                     process_id=instance.process_id, version=instance.version, element_id=t["element_id"],
                     details={"task_id": t["id"], "topic": t["topic"], "element_name": t.get("name"),
                              **({"called_process": t["called_process"]} if t["called_process"] else {}),
                              "on_behalf_of": actor})
    if opened:
        wake_after_commit(s)
