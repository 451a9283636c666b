"""The look-back loop: what closed deals taught us, and what they cost to win."""
from __future__ import annotations

from sqlalchemy import select

from ..clock import iso
from ..models import Instance
from .history import utc
from .scope import Scope


def look_backs(sg, since=None, until=None, process_id: str = "opportunity", version: int | None = None) -> list[dict]:
    """Closed deals with their look-back: outcome, lessons and acquisition cost."""
    with sg.uow(write=False) as uow:
        q = select(Instance).where(Instance.process_id == process_id, Instance.status == "completed")
        if version is not None:
            q = q.where(Instance.version == version)
        if since is not None:
            q = q.where(Instance.ended_at >= since)
        if until is not None:
            q = q.where(Instance.ended_at < until)
        rows = uow.session.execute(q.order_by(Instance.ended_at, Instance.id)).scalars().all()
        return [{"instance_id": i.id, "title": i.title, "version": i.version, "outcome": i.data.get("outcome"),
                 "ended_at": iso(i.ended_at), "month": utc(i.ended_at).strftime("%Y-%m"),
                 "acquisition_cost": i.data.get("acquisition_cost"),
                 "lessons_learned": i.data.get("lessons_learned"),
                 "repeat_customer_profile": i.data.get("repeat_customer_profile")}
                for i in rows if "acquisition_cost" in (i.data or {})]  # killed deals have no look-back


def cost_per_acquisition(sg, since=None, until=None, process_id: str = "opportunity") -> dict:
    """Acquisition cost recorded on every closed deal of the period, divided by the deals won."""
    reviews = look_backs(sg, since, until, process_id)
    cost = sum(r["acquisition_cost"] or 0 for r in reviews)
    won = sum(1 for r in reviews if r["outcome"] == "won")
    return {"closed": len(reviews), "won": won, "total_acquisition_cost": cost,
            "cpa": round(cost / won, 2) if won else None}


def lessons_by_month(sg, scope: Scope) -> list[dict]:
    """The lessons of the period's look-back reviews, grouped by the month the deal closed, newest first."""
    months: dict[str, list[dict]] = {}
    for r in look_backs(sg, scope.since, scope.until, scope.process_id, scope.version):
        months.setdefault(r["month"], []).append(r)
    return [{"month": m, "reviews": months[m]} for m in sorted(months, reverse=True)]
