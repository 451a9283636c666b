"""Read-only figures computed from what the process recorded (no manual entry)."""
from __future__ import annotations

from sqlalchemy import select

from .clock import iso
from .models import Instance

WON_ENDS = {"EndEvent_Won"}


def look_backs(sg, since=None, until=None, process_id: str = "opportunity") -> list[dict]:
    """Closed deals with their look-back: outcome, lessons and acquisition cost."""
    with sg.uow(write=False) as uow:
        q = select(Instance).where(Instance.process_id == process_id, Instance.status == "completed")
        if since is not None:
            q = q.where(Instance.ended_at >= since)
        if until is not None:
            q = q.where(Instance.ended_at < until)
        rows = uow.session.execute(q.order_by(Instance.ended_at, Instance.id)).scalars().all()
        return [{"instance_id": i.id, "title": i.title, "outcome": i.data.get("outcome"),
                 "ended_at": iso(i.ended_at), "acquisition_cost": i.data.get("acquisition_cost"),
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
