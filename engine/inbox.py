"""Read-only queries behind the staff pages: the inbox with its filters, and the deals list."""
from __future__ import annotations

from sqlalchemy import func, select

from .actors import load_user, roles_of
from .clock import iso
from .models import GateDecision, HumanTask, Instance, TaskRole
from .views import visible_processes

SORTS = ("due", "age")


def _aware(dt, like):
    if dt is None or like is None:
        return dt
    if dt.tzinfo is None and like.tzinfo is not None:
        return dt.replace(tzinfo=like.tzinfo)
    return dt


def inbox(sg, user: str, process: str | None = None, role: str | None = None, stage: str | None = None,
          sort: str = "due") -> dict:
    """The ready tasks `user` may work, filtered, sorted, with counts for every filter value."""
    now = sg.now()
    with sg.uow(write=False) as uow:
        s = uow.session
        mine = roles_of(load_user(s, user))
        rows = s.execute(
            select(HumanTask, Instance.title)
            .join(Instance, Instance.id == HumanTask.instance_id)
            .where(HumanTask.state == "ready",
                   HumanTask.id.in_(select(TaskRole.task_id).where(TaskRole.role.in_(mine))))
            .order_by(HumanTask.created_at, HumanTask.id)).all() if mine else []
        items = []
        for ht, title in rows:
            due = _aware(ht.due_at, now)
            created = _aware(ht.created_at, now)
            items.append({
                "id": ht.id, "instance_id": ht.instance_id, "process_id": ht.process_id, "element_id": ht.element_id,
                "name": ht.name, "role": ht.role, "stage": ht.stage, "deal": title,
                "created_at": iso(ht.created_at), "age_hours": round((now - created).total_seconds() / 3600, 1),
                "due_at": iso(ht.due_at), "overdue": bool(due and due < now),
                "claimed_by": ht.claimed_by, "mine": ht.claimed_by == user,
                "available": ht.claimed_by in (None, user),
            })
    counts = {
        "process": _count(items, "process_id"),
        "role": _count(items, "role"),
        "stage": _count(items, "stage"),
        "all": len(items),
    }
    chosen = [i for i in items
              if (process is None or i["process_id"] == process)
              and (role is None or i["role"] == role.casefold())
              and (stage is None or i["stage"] == stage)]
    if sort == "age":
        chosen.sort(key=lambda i: i["created_at"])
    else:
        chosen.sort(key=lambda i: (i["due_at"] is None, i["due_at"] or "", i["created_at"]))
    return {"tasks": chosen, "counts": counts, "roles": sorted(mine)}


def _count(items, key) -> dict:
    out: dict = {}
    for i in items:
        out[i[key]] = out.get(i[key], 0) + 1
    return dict(sorted(out.items(), key=lambda kv: str(kv[0])))


def deals(sg, user: str, status: str | None = None, limit: int = 200) -> list[dict]:
    """Deals the user can see (see views.py for the rule), newest first, with their gate outcomes."""
    with sg.uow(write=False) as uow:
        s = uow.session
        load_user(s, user)
        visible = visible_processes(sg, user)
        q = select(Instance).where(Instance.process_id.in_(visible) | (Instance.started_by == user))
        if status:
            q = q.where(Instance.status == status)
        rows = s.execute(q.order_by(Instance.started_at.desc(), Instance.id.desc()).limit(limit)).scalars().all()
        ids = [r.id for r in rows]
        gates: dict[int, list] = {}
        if ids:
            for g in s.execute(select(GateDecision).where(GateDecision.instance_id.in_(ids))
                               .order_by(GateDecision.decided_at, GateDecision.id)).scalars():
                gates.setdefault(g.instance_id, []).append({"gate": g.gate, "outcome": g.outcome, "at": iso(g.decided_at)})
        open_counts = dict(s.execute(select(HumanTask.instance_id, func.count()).where(
            HumanTask.instance_id.in_(ids), HumanTask.state == "ready").group_by(HumanTask.instance_id)).all()) if ids else {}
        return [{
            "id": r.id, "title": r.title, "process_id": r.process_id, "version": r.version, "status": r.status,
            "stage": r.stage, "started_at": iso(r.started_at), "started_by": r.started_by, "ended_at": iso(r.ended_at),
            "ended_at_element": r.ended_at_element, "gates": gates.get(r.id, []),
            "open_tasks": open_counts.get(r.id, 0),
        } for r in rows]
