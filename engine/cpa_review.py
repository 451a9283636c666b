"""Flag closed deals that cost too much to acquire: one Sales Leadership review each."""
from __future__ import annotations

from sqlalchemy import select

from .errors import FormInvalid
from .instances import start_instance
from .metrics import history
from .metrics.scope import Scope
from .models import Instance
from .views import start_form

REVIEW_PROCESS = "cpa_review"


def reviewed_deals(session) -> set[int]:
    """Deals that already have a high-CPA review (open or done)."""
    q = select(Instance.data["deal_id"].as_integer()).where(Instance.process_id == REVIEW_PROCESS)
    return {r[0] for r in session.execute(q) if r[0] is not None}


def flag_high_cpa(sg, threshold, actor: str, scope: Scope | None = None) -> dict:
    """Start a review for every closed deal of the scope whose acquisition cost is above
    `threshold`, unless it has one already. The actor starts them (Sales Leadership)."""
    try:
        limit = int(threshold)
    except (TypeError, ValueError):
        raise FormInvalid({"threshold": f"'{threshold}' is not a whole number of dollars"}, {"threshold": threshold}) \
            from None
    if limit < 0:
        raise FormInvalid({"threshold": "cannot be negative"}, {"threshold": threshold})
    start_form(sg, REVIEW_PROCESS, actor)  # refuses anyone who may not start reviews, even with nothing to flag
    scope = scope or Scope()
    with sg.uow(write=False) as uow:
        done = reviewed_deals(uow.session)
        costly = [d for d in history.deals(uow.session, scope)
                  if d.status == "completed" and scope.covers(d.ended_at)
                  and d.acquisition_cost is not None and d.acquisition_cost > limit]
    started, skipped = [], []
    for d in costly:
        if d.id in done:
            skipped.append(d.id)
            continue
        review = start_instance(sg, REVIEW_PROCESS, actor, {
            "deal_id": d.id, "deal_name": f"CPA review: {d.title or '#' + str(d.id)}"[:200],
            "deal_outcome": d.fate, "acquisition_cost": int(d.acquisition_cost), "cpa_threshold": limit})
        started.append({"deal_id": d.id, "review_id": review["id"], "acquisition_cost": d.acquisition_cost})
    return {"threshold": limit, "flagged": started, "already_reviewed": skipped}
