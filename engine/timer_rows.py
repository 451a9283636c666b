"""The timer rows of a deal (what the timer worker wakes for), kept in step with the engine after each step."""
from __future__ import annotations

from datetime import datetime, timezone

from . import audit, definitions
from .clock import iso
from .models import Timer


def element_of(model: dict, item: dict) -> dict:
    """The element of a ready task or waiting timer, from the process that defines it."""
    return definitions.element(model, item["called_process"], item["element_id"])


def sync_timers(s, instance, timers, rows, fired, model, now, actor) -> None:
    """Timer rows in step with the engine; `fired` are the waiting rows whose timer ran."""
    waiting = {t["id"]: t for t in timers}
    for row in rows.values():
        if row.state == "waiting" and row.id not in waiting:
            # Gone from the engine's wait list: it fired, or the task it guarded finished first.
            row.state, row.fired_at = ("fired", now) if row.id in fired else ("cancelled", None)
        elif row.state == "waiting" and iso(parse_instant(waiting[row.id]["due_at"])) != iso(row.due_at):
            # A cycle (R3/PT10M) fired and waits for its next turn: the same timer, due again later.
            audit.record(s, now, "engine", "timer_fired", instance_id=instance.id, process_id=instance.process_id,
                         version=instance.version, element_id=row.element_id,
                         details={"timer_id": row.id, "due_at": iso(row.due_at), "next_due_at": waiting[row.id]["due_at"],
                                  "on_behalf_of": actor})
            row.due_at, row.fired_at = parse_instant(waiting[row.id]["due_at"]), now
    for t in waiting.values():
        if t["id"] not in rows:
            s.add(Timer(id=t["id"], instance_id=instance.id, element_id=t["element_id"],
                        name=element_of(model, t).get("name"), due_at=parse_instant(t["due_at"]),
                        state="waiting", created_at=now))


def parse_instant(text: str) -> datetime:
    """A stored ISO instant as an aware UTC datetime (naive means UTC)."""
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
