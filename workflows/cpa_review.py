"""Flag closed deals that cost too much to acquire: one Sales Leadership review each."""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import FormInvalid
from engine.limits import InputRefused, whole_number
from engine.services.instances import start_instance
from workflows.metrics.scope import Scope, restrict
from engine.store.models import DealOutcome, Instance
from engine.queries.views import start_form

REVIEW_PROCESS = "cpa_review"


def reviewed_deals(session) -> set[int]:
    """Deals that already have a high-CPA review (open or done)."""
    q = select(Instance.data["deal_id"].as_integer()).where(Instance.process_id == REVIEW_PROCESS)
    return {r[0] for r in session.execute(q) if r[0] is not None}


def flag_high_cpa(sg, threshold, actor: str, scope: Scope | None = None) -> dict:
    """Start a review for every closed deal of the scope whose acquisition cost is above
    `threshold`, unless it has one already. The actor starts them (Sales Leadership)."""
    try:
        limit = whole_number(threshold, "threshold")
    except InputRefused as exc:
        raise FormInvalid({"threshold": exc.reason}, {"threshold": threshold}) from None
    if limit is None:
        raise FormInvalid({"threshold": "is required: a whole number of dollars"}, {"threshold": threshold})
    start_form(sg, REVIEW_PROCESS, actor, tasklist=False)  # refuses anyone who may not start reviews, even with nothing to flag
    scope = scope or Scope()
    d = DealOutcome
    with sg.uow(write=False) as uow:
        done = reviewed_deals(uow.session)
        # The closed deals' outcome rows carry the cost: no need to read every deal's data.
        costly = uow.session.execute(restrict(
            select(d.instance_id, Instance.title, d.fate, d.acquisition_cost).join(Instance, Instance.id == d.instance_id)
            .where(d.acquisition_cost > limit), scope, d.process_id, d.version, d.ended_at).order_by(d.instance_id)).all()
    started, skipped = [], []
    for deal_id, title, fate, cost in costly:
        if deal_id in done:
            skipped.append(deal_id)
            continue
        review = start_instance(sg, REVIEW_PROCESS, actor, {
            "deal_id": deal_id, "deal_name": f"CPA review: {title or '#' + str(deal_id)}"[:200],
            "deal_outcome": fate, "acquisition_cost": int(cost), "cpa_threshold": limit})
        started.append({"deal_id": deal_id, "review_id": review["id"], "acquisition_cost": cost})
    return {"threshold": limit, "flagged": started, "already_reviewed": skipped}
