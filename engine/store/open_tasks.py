"""How many open tasks each role has, per process, lane role and stage: the inbox's counts.

Kept in step with the inbox index (human_task_roles) by the step that opens and closes tasks, so
the inbox reads a few dozen counters instead of counting every open task of the user's roles.
A step adds its changes last, in key order: concurrent steps touch the counters in the same
order and never deadlock on them."""
from __future__ import annotations

from collections import Counter
from functools import cache

from sqlalchemy import func, insert, select

from engine.store.models import OpenTaskCount, TaskRole
from engine.store.prepared import Prepared

KEY = ("role", "process_id", "lane_role", "stage")  # a counter's columns, in key_of's order
NONE = ""  # a facet the task does not have (no stage, say): key columns cannot be NULL


def key_of(role: str, process_id: str | None, lane_role: str | None, stage: str | None) -> tuple:
    """The counter a task-role row counts in."""
    return role, process_id or NONE, lane_role or NONE, stage or NONE


def facet(value: str) -> str | None:
    """A stored facet as the inbox shows it (None where the task has none)."""
    return value or None


def apply(s, changes: Counter) -> None:
    """Add `changes` (counter key -> opened minus closed) to the counts, in one statement."""
    keys = sorted(k for k, n in changes.items() if n)
    if keys:
        _upsert(s.get_bind().dialect.name).run(s, [{**dict(zip(KEY, key)), "open_tasks": changes[key]} for key in keys])


@cache
def _upsert(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE adding to the counter, built once per database kind."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(OpenTaskCount.__table__)
    return Prepared(stmt.on_conflict_do_update(
        index_elements=list(KEY), set_={"open_tasks": OpenTaskCount.__table__.c.open_tasks + stmt.excluded.open_tasks}),
        (*KEY, "open_tasks"))


def _counted():
    t = TaskRole
    keys = (t.role, func.coalesce(t.process_id, NONE), func.coalesce(t.lane_role, NONE), func.coalesce(t.stage, NONE))
    return select(*keys, func.count()).group_by(*keys)


def recount(conn) -> None:
    """Rebuild every counter from the inbox index (after bulk loads)."""
    conn.execute(OpenTaskCount.__table__.delete())
    conn.execute(insert(OpenTaskCount.__table__).from_select([*KEY, "open_tasks"], _counted()))


def disagreements(conn) -> dict[tuple, tuple[int, int]]:
    """Counters that differ from a count of the inbox index: key -> (kept, counted). Empty when in step."""
    kept = {tuple(r[:4]): r[4] for r in conn.execute(select(OpenTaskCount.__table__)) if r[4]}
    counted = {tuple(r[:4]): r[4] for r in conn.execute(_counted())}
    return {k: (kept.get(k, 0), counted.get(k, 0)) for k in kept.keys() | counted.keys()
            if kept.get(k, 0) != counted.get(k, 0)}
