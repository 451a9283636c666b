"""The deals list: every deal a user may see, found by number, name, customer or business key,
filtered like the board, sorted, one page at a time, with its gates and how it stands."""
from __future__ import annotations

from sqlalchemy import case, func, select

from engine import outcomes
from engine.actors import load_user
from engine.clock import iso, utc
from engine.limits import MAX_ID
from engine.queries.views import visible_processes
from engine.store.models import GateDecision, Instance, StageStay
from workflows.pipeline.common import (VALUE, Filters, choices, deal_row, details, narrowed, open_tasks,
                                       search, stage_p90, visible, with_stay)

PER_PAGE = 50
STATUSES = ("running", "completed", "error")
# sort -> (column, the direction shown first, whether a larger figure is an earlier column value)
SORTS = {
    "newest": (Instance.started_at, "desc", False),
    "number": (Instance.id, "asc", False),
    "value": (VALUE, "desc", False),
    "age": (Instance.started_at, "desc", True),  # age: the oldest deal is the one started first
    "days": (case((Instance.status == "running", StageStay.entered_at)), "desc", True),  # days in stage
}


def deal_list(sg, user: str, filters: Filters = Filters(), status: str | None = None, text: str | None = None,
              key: str | None = None, sort: str = "newest", direction: str | None = None, page: int = 1,
              per_page: int = PER_PAGE) -> dict:
    """One page of the deals `user` may see that match, in the chosen order, with the page count.

    `text`: a deal number, or part of a name, customer or business key; `key`: the start of a
    business key; `direction`: asc or desc of the sorted figure (default: the sort's own)."""
    sort = sort if sort in SORTS else "newest"
    column, first, inverted = SORTS[sort]
    direction = direction if direction in ("asc", "desc") else first
    now = utc(sg.now())
    processes = visible_processes(sg, user)
    with sg.uow(write=False) as uow:
        s = uow.session
        load_user(s, user)
        offered = choices(s, processes)
        seen = visible(processes, list(offered["names"]), user)
        q = narrowed(select().where(seen), filters)
        if status in STATUSES:
            q = q.where(Instance.status == status)
        if text and text.strip():
            q = q.where(search(text))
        if key:
            q = q.where(Instance.business_key.startswith(key, autoescape=True))
        falling = (direction == "desc") != inverted  # the column itself descends
        order = (column.desc(), Instance.id.desc()) if falling else (column.asc(), Instance.id.asc())
        ordered = q.add_columns(Instance.id, func.count().over().label("total")).order_by(order[0].nulls_last(),
                                                                                         order[1])
        ordered = with_stay(ordered) if sort == "days" else ordered

        def read(n: int) -> list:  # the page and, on each row, how many match: one pass over the deals
            return s.execute(ordered.limit(per_page).offset((n - 1) * per_page)).all()
        page = min(max(1, page), MAX_ID // per_page)  # an offset the database can hold
        found = read(page)
        total = found[0].total if found else s.scalar(q.add_columns(func.count()))
        pages = max(1, -(-total // per_page))
        if not found and total:  # past the last page: show the last
            page = pages
            found = read(page)
        page = min(max(1, page), pages)
        ids = [r.id for r in found]
        shown = details(s, ids)
        rows = [shown[i] for i in ids]
        gates: dict[int, list] = {}
        for g in s.execute(select(GateDecision.instance_id, GateDecision.gate, GateDecision.outcome,
                                  GateDecision.decided_at).where(GateDecision.instance_id.in_(ids))
                           .order_by(GateDecision.decided_at, GateDecision.id)) if ids else ():
            gates.setdefault(g.instance_id, []).append({"gate": g.gate, "outcome": g.outcome, "at": iso(g.decided_at)})
        ended = outcomes.read(s, rows)
        tasks = open_tasks(s, ids)
        p90 = stage_p90(s, {r.process_id for r in rows if r.status == "running"})
    names = offered["names"]
    deals = [{**deal_row(r, tasks, p90, now), "gates": gates.get(r.id, []), "outcome": ended[r.id],
              "process": names.get(r.process_id, r.process_id)} for r in rows]
    return {"deals": deals, "choices": offered, "total": total, "page": page, "pages": pages, "per_page": per_page,
            "sort": sort, "direction": direction}
