"""What happens as a user task opens with an assignee: it opens claimed by that user, as in Camunda."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from engine import audit
from engine.store.models import User


def assign_on_open(s, ht, assignee: str, now, actor: str) -> None:
    """Claim the new task `ht` for `assignee` (camunda:assignee, humanPerformer, a task listener).

    A name that is no active user leaves the task unclaimed, open to its candidates, and the audit
    says why; Camunda would assign it to the unknown id, where nobody but an administrator sees it."""
    user = s.execute(select(User).where(User.name == assignee)).scalar_one_or_none()
    known = user is not None and user.active
    if known:
        ht.claimed_by, ht.claimed_at = assignee, now
    audit.record(s, now, "engine", "task_assigned" if known else "task_assignee_unknown",
                 instance_id=ht.instance_id, process_id=ht.process_id, element_id=ht.element_id,
                 details={"task_id": ht.id, "task_name": ht.name, "assignee": assignee, "on_behalf_of": actor,
                          **({} if known else {"reason": f"the diagram assigns the task to '{assignee}', who is "
                                               "no active user: it is open to its candidates instead"})})


def due_instant(text: str) -> datetime:
    """A task's due date (ISO text, as decided when it opened) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)
