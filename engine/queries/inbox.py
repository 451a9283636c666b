"""Read-only queries behind the staff pages: the inbox with its filters, and the deals list."""
from __future__ import annotations

from sqlalchemy import and_, distinct, func, or_, select

from engine.store import open_tasks
from engine import outcomes
from engine.actors import load_user, roles_of
from engine.assignment import headed_departments, inbox_keys, may_work, open_to_anyone, oversees
from engine.clock import iso
from engine.store.models import GateDecision, HumanTask, Instance, OpenTaskCount, TaskRole
from engine.queries.views import visible_processes

SORTS = ("due", "age")


def _aware(dt, like):
    if dt is None or like is None:
        return dt
    if dt.tzinfo is None and like.tzinfo is not None:
        return dt.replace(tzinfo=like.tzinfo)
    return dt


PAGE = 100
SHOWN = (HumanTask.id, HumanTask.instance_id, HumanTask.process_id, HumanTask.element_id, HumanTask.name,
          HumanTask.role, HumanTask.roles, HumanTask.candidate_users, HumanTask.stage, HumanTask.created_at,
          HumanTask.due_at, HumanTask.follow_up_at, HumanTask.claimed_by)


def follow_up_now(follow_up, due, now) -> bool:
    """The task is past its follow-up date (camunda:followUpDate) and not overdue: time to look at it again."""
    return bool(follow_up and follow_up <= now and not (due and due < now))


def inbox(sg, user: str, process: str | None = None, role: str | None = None, stage: str | None = None,
          sort: str = "due", limit: int = PAGE, business_key: str | None = None) -> dict:
    """The ready tasks `user` may work or, as department head, oversee: filtered, sorted, with counts.

    Reads the open-task counters for the counts, the index of open tasks (human_task_roles) for the
    page (at most `limit` tasks per role), then those tasks' rows: never every open task."""
    now = sg.now()
    with sg.uow(write=False) as uow:
        s = uow.session
        who = load_user(s, user)
        mine = roles_of(who)
        headed = headed_departments(who)
        roles = inbox_keys(who) | headed
        per_role = _open_counts(s, roles) if roles else {}
        groups = _groups(s, per_role)
        chosen = (process, role.casefold() if role else None, stage)
        matching = sum(n for *key, n in groups if _matches(key, chosen))
        # Nothing matches the filters: skip the ordered read, which would walk all of the roles' tasks.
        if business_key and matching:  # the counts are the roles' own; the page and its total the key's
            ids = _of_deals_keyed(s, per_role, chosen, sort, business_key)
            matching, ids = len(ids), ids[:limit]
        else:
            ids = _page(s, per_role, chosen, sort, limit) if matching else []
        # Plain rows of the columns shown, not mapped objects: a page is read, never changed. The
        # state is checked here, not in SQL: there SQLite without statistics would read every
        # open task by the state index rather than the page's few by primary key.
        rows = {ht.id: ht for ht in s.execute(
            select(*SHOWN, HumanTask.state, Instance.title, Instance.business_key).join(Instance, Instance.id == HumanTask.instance_id)
            .where(HumanTask.id.in_(ids))) if ht.state == "ready"} if ids else {}
        items = []
        for task_id in ids:
            if task_id not in rows:
                continue
            ht = rows[task_id]
            due = _aware(ht.due_at, now)
            created = _aware(ht.created_at, now)
            works = may_work(who, ht.roles, ht.candidate_users)
            as_head = not works  # only here because the user heads its department
            items.append({
                "id": ht.id, "instance_id": ht.instance_id, "process_id": ht.process_id, "element_id": ht.element_id,
                "name": ht.name, "role": ht.role, "roles": list(ht.roles), "stage": ht.stage, "deal": ht.title,
                "business_key": ht.business_key,
                "created_at": iso(ht.created_at), "age_hours": round((now - created).total_seconds() / 3600, 1),
                "due_at": iso(ht.due_at), "overdue": bool(due and due < now), "follow_up_at": iso(ht.follow_up_at),
                "follow_up": follow_up_now(_aware(ht.follow_up_at, now), due, now),
                "claimed_by": ht.claimed_by, "mine": ht.claimed_by == user,
                "available": works and ht.claimed_by in (None, user), "as_head": as_head,
                "may_work": works, "oversees": oversees(who, ht.roles), "candidate_users": ht.candidate_users or [],
                "open_to_anyone": open_to_anyone(ht),
            })
    counts = {"process": _tally(groups, 0), "role": _tally(groups, 1), "stage": _tally(groups, 2),
              "all": sum(n for *_, n in groups)}
    return {"tasks": items, "counts": counts, "roles": sorted(mine), "headed": sorted(headed),
            "matching": matching, "limit": limit}


def _matches(key, chosen) -> bool:
    return all(want is None or have == want for have, want in zip(key, chosen))


def _open_counts(s, roles: set[str]) -> dict[str, dict[tuple, int]]:
    """Per role: open tasks by (process, lane role, stage), from the counters kept at each step."""
    out: dict[str, dict[tuple, int]] = {r: {} for r in roles}
    c = OpenTaskCount
    for role, *key, n in s.execute(select(c.role, c.process_id, c.lane_role, c.stage, c.open_tasks)
                                   .where(c.role.in_(roles), c.open_tasks > 0)):
        out[role][tuple(open_tasks.facet(k) for k in key)] = n
    return out


def _groups(s, per_role: dict[str, dict[tuple, int]]) -> list[tuple]:
    """(process, lane role, stage, open tasks) over the open tasks of the roles, each task once."""
    keys = (TaskRole.process_id, TaskRole.lane_role, TaskRole.stage)
    totals: dict[tuple, int] = {}
    for counts in per_role.values():
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
    if len(per_role) > 1:  # a task open to several of these roles was counted once per role
        for *key, extra in s.execute(select(*keys, func.count() - func.count(distinct(TaskRole.task_id)))
                                     .where(TaskRole.role.in_(per_role), TaskRole.shared.is_(True)).group_by(*keys)):
            totals[tuple(key)] -= extra
    return [(*key, n) for key, n in totals.items() if n]


def _page(s, per_role: dict[str, dict[tuple, int]], chosen: tuple, sort: str, limit: int) -> list[str]:
    """Ids of the first `limit` open tasks of the roles in the chosen order, each once, merged here
    from each role's share.

    A role whose tasks mostly match is read in index order, at most `limit` tasks; a role with
    few matching tasks among many (a narrow filter) has just those read by their facets, since
    an ordered walk would step over all the others first."""
    keyed = []
    for role, counts in per_role.items():
        combos = [key for key in counts if _matches(key, chosen)]
        matching, total = sum(counts[k] for k in combos), sum(counts.values())
        if not matching:
            continue
        base = select(TaskRole.task_id, TaskRole.due_at, TaskRole.created_at).where(TaskRole.role == role)
        if matching < total and matching * matching < limit * total:
            rows = s.execute(base.where(or_(*(_facets_are(key) for key in combos)))).all()
            keyed += [(_order(r, sort), r.task_id) for r in rows]
            continue
        filters = [col == value for col, value in zip((TaskRole.process_id, TaskRole.lane_role, TaskRole.stage), chosen)
                   if value is not None]
        base = base.where(*filters)
        if sort == "age":
            rows = s.execute(base.order_by(TaskRole.created_at, TaskRole.task_id).limit(limit)).all()
            keyed += [(_order(r, sort), r.task_id) for r in rows]
            continue
        # due date first (soonest first), then the undated ones by age
        dated = s.execute(base.where(TaskRole.due_at.is_not(None))
                          .order_by(TaskRole.due_at, TaskRole.created_at, TaskRole.task_id).limit(limit)).all()
        keyed += [(_order(r, sort), r.task_id) for r in dated]
        if len(dated) < limit:
            undated = s.execute(base.where(TaskRole.due_at.is_(None))
                                .order_by(TaskRole.created_at, TaskRole.task_id).limit(limit - len(dated))).all()
            keyed += [(_order(r, sort), r.task_id) for r in undated]
    keyed.sort(key=lambda kv: kv[0])
    ids: dict[str, None] = {}  # insertion-ordered set
    for _key, task_id in keyed:
        ids.setdefault(task_id)
        if len(ids) == limit:
            break
    return list(ids)


def _of_deals_keyed(s, per_role: dict, chosen: tuple, sort: str, key: str) -> list[str]:
    """The ids of the matching tasks of deals whose business key starts with `key`, in order (a key names few deals)."""
    deals = select(Instance.id).where(key_prefix(key))
    filters = [col == value for col, value in zip((TaskRole.process_id, TaskRole.lane_role, TaskRole.stage), chosen)
               if value is not None]
    rows = s.execute(select(TaskRole.task_id, TaskRole.due_at, TaskRole.created_at)
                     .join(HumanTask, HumanTask.id == TaskRole.task_id)
                     .where(TaskRole.role.in_(per_role), HumanTask.instance_id.in_(deals), *filters)).all()
    return list(dict.fromkeys(r.task_id for r in sorted(rows, key=lambda r: _order(r, sort))))


def key_prefix(key: str):
    """Deals whose business key starts with `key` (% and _ in it are plain characters)."""
    return Instance.business_key.startswith(key, autoescape=True)


def _order(row, sort: str) -> tuple:
    """A task's place in the chosen order: by age; or by due date, the undated after by age."""
    if sort == "age":
        return (row.created_at, row.task_id)
    return (0, row.due_at, row.created_at, row.task_id) if row.due_at is not None else (1, row.created_at, row.task_id)


def _facets_are(key: tuple):
    return and_(*(col.is_(None) if value is None else col == value
                  for col, value in zip((TaskRole.process_id, TaskRole.lane_role, TaskRole.stage), key)))


def _tally(groups: list[tuple], key: int) -> dict:
    out: dict = {}
    for g in groups:
        out[g[key]] = out.get(g[key], 0) + g[3]
    return dict(sorted(out.items(), key=lambda kv: str(kv[0])))


def deals(sg, user: str, status: str | None = None, limit: int = 200, business_key: str | None = None) -> list[dict]:
    """Deals the user can see (see views.py for the rule), newest first, with their gate outcomes and
    how each stands (open, won, lost, killed at a gate...); `business_key`: those whose key starts so."""
    with sg.uow(write=False) as uow:
        s = uow.session
        load_user(s, user)
        visible = visible_processes(sg, user)
        q = select(Instance).where(Instance.process_id.in_(visible) | (Instance.started_by == user))
        if status:
            q = q.where(Instance.status == status)
        if business_key:
            q = q.where(key_prefix(business_key))
        rows = s.execute(q.order_by(Instance.started_at.desc(), Instance.id.desc()).limit(limit)).scalars().all()
        ids = [r.id for r in rows]
        gates: dict[int, list] = {}
        if ids:
            for g in s.execute(select(GateDecision).where(GateDecision.instance_id.in_(ids))
                               .order_by(GateDecision.decided_at, GateDecision.id)).scalars():
                gates.setdefault(g.instance_id, []).append({"gate": g.gate, "outcome": g.outcome, "at": iso(g.decided_at)})
        open_counts = dict(s.execute(select(HumanTask.instance_id, func.count()).where(
            HumanTask.instance_id.in_(ids), HumanTask.state == "ready").group_by(HumanTask.instance_id)).all()) if ids else {}
        ended = outcomes.read(s, rows)
        return [{
            "id": r.id, "title": r.title, "business_key": r.business_key, "process_id": r.process_id, "version": r.version, "status": r.status,
            "stage": r.stage, "started_at": iso(r.started_at), "started_by": r.started_by, "ended_at": iso(r.ended_at),
            "ended_at_element": r.ended_at_element, "gates": gates.get(r.id, []), "outcome": ended[r.id],
            "open_tasks": open_counts.get(r.id, 0),
        } for r in rows]
