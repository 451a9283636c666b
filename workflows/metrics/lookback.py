"""The look-back loop: what closed deals taught us, and what they cost to win."""
from __future__ import annotations

from sqlalchemy import select

from engine.clock import iso
from engine.store.models import Instance
from engine.clock import utc
from workflows.metrics.scope import Scope


def look_backs(sg, since=None, until=None, process_id: str = "opportunity", version: int | None = None,
               latest: int | None = None) -> list[dict]:
    """Closed deals with their look-back: outcome, lessons and acquisition cost (oldest first;
    with `latest`, only that many of the most recent)."""
    data = Instance.data
    cost = data["acquisition_cost"].as_float()
    q = select(Instance.id, Instance.title, Instance.version, Instance.ended_at, data["outcome"].as_string(), cost,
               data["lessons_learned"].as_string(), data["repeat_customer_profile"].as_boolean()).where(
        Instance.process_id == process_id, Instance.status == "completed", cost.is_not(None))  # killed: no look-back
    if version is not None:
        q = q.where(Instance.version == version)
    if since is not None:
        q = q.where(Instance.ended_at >= since)
    if until is not None:
        q = q.where(Instance.ended_at < until)
    q = q.order_by(Instance.ended_at.desc(), Instance.id.desc())
    with sg.uow(write=False) as uow:
        rows = uow.session.execute(q.limit(latest) if latest else q).all()
    return [{"instance_id": r[0], "title": r[1], "version": r[2], "outcome": r[4], "ended_at": iso(r[3]),
             "month": utc(r[3]).strftime("%Y-%m"), "acquisition_cost": _whole(r[5]), "lessons_learned": r[6],
             "repeat_customer_profile": r[7]} for r in reversed(rows)]


def _whole(value: float | None):
    return int(value) if value is not None and float(value).is_integer() else value


def cost_per_acquisition(sg, since=None, until=None, process_id: str = "opportunity") -> dict:
    """Acquisition cost recorded on every closed deal of the period, divided by the deals won."""
    reviews = look_backs(sg, since, until, process_id)
    cost = sum(r["acquisition_cost"] or 0 for r in reviews)
    won = sum(1 for r in reviews if r["outcome"] == "won")
    return {"closed": len(reviews), "won": won, "total_acquisition_cost": cost,
            "cpa": round(cost / won, 2) if won else None}


def lessons_by_month(sg, scope: Scope, latest: int | None = None) -> list[dict]:
    """The lessons of the period's look-back reviews (the `latest` ones), by the month the deal closed, newest first."""
    months: dict[str, list[dict]] = {}
    for r in look_backs(sg, scope.since, scope.until, scope.process_id, scope.version, latest):
        months.setdefault(r["month"], []).append(r)
    return [{"month": m, "reviews": months[m]} for m in sorted(months, reverse=True)]
