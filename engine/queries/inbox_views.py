"""The inbox's views (my tasks, unclaimed for my roles, my department, done by me), its search by
deal, customer or task, and its sorts by due date, age, deal value and priority.

The plain view of every open task of the user's roles, sorted by due date or age and not searched,
is engine/queries/inbox.py's indexed read; every other choice is read here."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from engine import domain
from engine.actors import load_user, roles_of
from engine.assignment import headed_departments, heads, inbox_keys, may_work, open_to_anyone, oversees
from engine.bpmn import definitions
from engine.clock import iso, utc
from engine.queries import inbox as plain_inbox
from engine.queries.process_names import process_names
from engine.store.models import HumanTask, Instance, TaskRole

VIEWS = {"all": "All open", "mine": "My tasks", "unclaimed": "Unclaimed for my roles",
         "department": "My department", "done": "Done by me"}
SORTS = ("due", "age", "value", "priority", "done")
PAGE = plain_inbox.PAGE
DONE_READ = 500  # "done by me" reads the most recent completions only: a person's history only grows
DEFAULT_PRIORITY = 50  # Camunda's, for a user task whose diagram sets none
SEARCH_MAX = 120


def listing(sg, user: str, view: str = "all", search: str | None = None, sort: str | None = None,
            process: str | None = None, role: str | None = None, stage: str | None = None,
            business_key: str | None = None, limit: int = PAGE) -> dict:
    """The tasks of one inbox view, searched, filtered and sorted, with counts per filter value."""
    view = view if view in VIEWS else "all"
    sort = sort if sort in SORTS else ("done" if view == "done" else "due")
    search = (search or "").strip()[:SEARCH_MAX] or None
    fast = view == "all" and not search and sort in plain_inbox.SORTS
    if fast:
        result = plain_inbox.inbox(sg, user, process=process, role=role, stage=stage, sort=sort,
                                   business_key=business_key, limit=limit)
    else:
        result = _read(sg, user, view, search, (process, role.casefold() if role else None, stage),
                       business_key, sort, limit)
    with sg.uow(write=False) as uow:
        s = uow.session
        headed = sorted(heads(load_user(s, user)))
        names = process_names(s)
        _add_deal_facts(sg, s, result["tasks"])
    return {**result, "view": view, "sort": sort, "search": search, "process_names": names,
            "heads": headed}


def _read(sg, user, view, search, chosen, business_key, sort, limit) -> dict:
    """The view's matching tasks: counted by facet, filtered, every one sorted, the first `limit` shown."""
    now = sg.now()
    with sg.uow(write=False) as uow:
        s = uow.session
        who = load_user(s, user)
        value_field = domain.current().value_field
        # Plain columns, not mapped rows: a view may match thousands of tasks, and their forms are not shown.
        q = (select(*plain_inbox.SHOWN, HumanTask.state, HumanTask.completed_at, HumanTask.called_process,
                    Instance.title, Instance.business_key, Instance.process_version_id,
                    *([Instance.data[value_field].label("value")] if value_field else []))
             .join(Instance, Instance.id == HumanTask.instance_id))
        if view == "done":
            q = q.where(HumanTask.state == "completed", HumanTask.completed_by == user) \
                 .order_by(HumanTask.completed_at.desc()).limit(DONE_READ)
        else:
            keys = {"all": inbox_keys(who) | headed_departments(who), "unclaimed": inbox_keys(who),
                    "department": heads(who), "mine": None}[view]
            q = q.where(HumanTask.state == "ready")
            if keys is not None:
                q = q.where(HumanTask.id.in_(select(TaskRole.task_id).where(TaskRole.role.in_(keys or {""}))))
            if view == "mine":
                q = q.where(HumanTask.claimed_by == user)
            if view == "unclaimed":
                q = q.where(HumanTask.claimed_by.is_(None))
        if search:
            q = q.where(_searched(search))
        if business_key:
            q = q.where(plain_inbox.key_prefix(business_key))
        rows = s.execute(q).all()
        counts = {"process": _tally(rows, "process_id"), "role": _tally(rows, "role"), "stage": _tally(rows, "stage"),
                  "all": len(rows)}
        picked = [r for r in rows
                  if all(want is None or getattr(r, k) == want for k, want in zip(("process_id", "role", "stage"), chosen))]
        # Sort light records of every match; build the full row only for the page shown.
        light = [{"row": r, "id": r.id, "due": utc(r.due_at), "created": utc(r.created_at),
                  "completed": utc(r.completed_at), "value": _number(getattr(r, "value", None)),
                  "process_version_id": r.process_version_id, "element_id": r.element_id,
                  "called_process": r.called_process} for r in picked]
        if sort == "priority":
            _add_priorities(sg, s, light)
        tasks = [_item(who, t["row"], now) for t in ordered(light, sort, limit, utc(now))]
        mine, headed = sorted(roles_of(who)), sorted(headed_departments(who))
    return {"tasks": tasks, "counts": counts, "roles": mine, "headed": headed, "matching": len(picked),
            "limit": limit}


def _searched(text: str):
    """Tasks whose deal number, deal name, business key, customer or own name holds `text`."""
    needle = text.casefold()
    found = [func.lower(Instance.title).contains(needle, autoescape=True),
             func.lower(Instance.business_key).contains(needle, autoescape=True),
             func.lower(HumanTask.name).contains(needle, autoescape=True)]
    customer = domain.current().customer_field
    if customer:
        found.append(func.lower(Instance.data[customer].as_string()).contains(needle, autoescape=True))
    number = text.lstrip("#").strip()
    if number.isascii() and number.isdigit() and len(number) <= 15:
        found.append(Instance.id == int(number))
    return or_(*found)


def _item(who, ht, now) -> dict:
    works = may_work(who, ht.roles, ht.candidate_users)
    created, due = utc(ht.created_at), utc(ht.due_at)
    ready = ht.state == "ready"
    return {
        "id": ht.id, "instance_id": ht.instance_id, "process_id": ht.process_id, "element_id": ht.element_id,
        "name": ht.name, "role": ht.role, "roles": list(ht.roles), "stage": ht.stage, "deal": ht.title,
        "business_key": ht.business_key, "called_process": ht.called_process, "state": ht.state,
        "process_version_id": ht.process_version_id,
        "created_at": iso(ht.created_at), "age_hours": round((utc(now) - created).total_seconds() / 3600, 1),
        "due_at": iso(ht.due_at), "overdue": bool(ready and due and due < utc(now)),
        "follow_up_at": iso(ht.follow_up_at),
        "follow_up": ready and plain_inbox.follow_up_now(utc(ht.follow_up_at), due, utc(now)),
        "completed_at": iso(ht.completed_at), "claimed_by": ht.claimed_by if ready else None,
        "mine": ht.claimed_by == who.name, "available": ready and works and ht.claimed_by in (None, who.name),
        "as_head": ready and not works, "may_work": ready and works,
        "oversees": ready and oversees(who, ht.roles), "candidate_users": ht.candidate_users or [],
        "open_to_anyone": open_to_anyone(ht),
    }


def _tally(rows, key: str) -> dict:
    out: dict = {}
    for r in rows:
        out[getattr(r, key)] = out.get(getattr(r, key), 0) + 1
    return dict(sorted(out.items(), key=lambda kv: str(kv[0])))


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _add_deal_facts(sg, s, tasks: list[dict]) -> None:
    """Each task's deal value and customer (the domain's fields) and its priority (the diagram's camunda:priority)."""
    if not tasks:
        return
    fields = domain.current()
    cols = [Instance.id, Instance.process_version_id]
    cols += [Instance.data[f].label(n) for n, f in (("value", fields.value_field), ("customer", fields.customer_field)) if f]
    deals = {r.id: r for r in s.execute(select(*cols).where(Instance.id.in_({t["instance_id"] for t in tasks})))}
    for t in tasks:
        deal = deals.get(t["instance_id"])
        t["value"] = _number(getattr(deal, "value", None))
        customer = getattr(deal, "customer", None)
        t["customer"] = customer if isinstance(customer, str) else None
        t["process_version_id"] = deal.process_version_id if deal is not None else None
    if any("priority" not in t for t in tasks):
        _add_priorities(sg, s, tasks)


def _add_priorities(sg, s, tasks: list[dict]) -> None:
    """Each task's priority, as its diagram's user task sets it (camunda:priority), read once per version."""
    models: dict[int, dict] = {}
    for t in tasks:
        pv_id = t.get("process_version_id")
        if pv_id is not None and pv_id not in models:
            models[pv_id] = sg.version(s, pv_id).model
        element = definitions.element(models[pv_id], t.get("called_process"), t["element_id"]) if pv_id else {}
        t["priority"] = _priority((element or {}).get("priority"))


def _priority(written) -> int:
    try:
        return int(str(written).strip())
    except (TypeError, ValueError):  # unset, or an expression the engine does not evaluate here
        return DEFAULT_PRIORITY


def ordered(tasks: list[dict], sort: str, limit: int, now) -> list[dict]:
    """The tasks (with due, created and completed datetimes) in the chosen order, at most `limit`: soonest
    due (undated last), oldest, largest deal value (unvalued last), highest priority (then the overdue,
    then soonest due), or most recently done."""
    def at(when):
        return when.timestamp() if when is not None else 0.0

    if sort == "done":
        return sorted(tasks, key=lambda t: at(t["completed"]), reverse=True)[:limit]

    def due(t):
        return (t["due"] is None, at(t["due"]), at(t["created"]), t["id"])
    keys = {
        "due": due,
        "age": lambda t: (at(t["created"]), t["id"]),
        "value": lambda t: (t["value"] is None, -(t["value"] or 0), *due(t)),
        "priority": lambda t: (-t.get("priority", DEFAULT_PRIORITY), not (t["due"] and t["due"] < now), *due(t)),
    }
    return sorted(tasks, key=keys[sort])[:limit]
