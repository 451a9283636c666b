"""A deal and its rows (human tasks, timers, external tasks) as plain records, read and written by
prepared statements on the step's own connection (the session's: one transaction).

A step (a start, a completion, a fired timer) is the hot path: through the ORM's unit of work it
cost ~6 ms of Python for ~0.6 ms of SQLite. These statements are compiled once (on SQLite they run
on the DBAPI cursor: engine/store/prepared.py); a record is a plain object with the row's columns
as attributes, which is all the step, its observers and the summaries read. The deal's UPDATE keeps the
optimistic lock the ORM's version_id_col gave: it names the version read, and a step that finds
another writer got there first raises StaleDataError (the use case retries it)."""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from engine.store.models import HumanTask, Instance, TaskRole
from engine.store import prepared
from engine.store.prepared import Prepared, connection

_DEALS, _TASKS, _ROLES = Instance.__table__, HumanTask.__table__, TaskRole.__table__
DEAL_COLUMNS = tuple(c.name for c in _DEALS.columns)
# What a step changes on the deal; the rest (who started it, when, its version) never changes.
_MOVED_ON = ("title", "status", "stage", "data", "state", "ended_at", "ended_at_element")

_DEAL = Prepared(select(_DEALS).where(_DEALS.c.id == bindparam("id")))
_DEAL_LOCK = select(_DEALS.c.id).where(_DEALS.c.id == bindparam("id")).with_for_update()
_INSERT_DEAL = Prepared(insert(_DEALS).returning(_DEALS.c.id), tuple(c for c in DEAL_COLUMNS if c != "id"))
_UPDATE_DEAL = Prepared(update(_DEALS).where(_DEALS.c.id == bindparam("b_id"), _DEALS.c.lock_version == bindparam("b_lock"))
                        .values(lock_version=bindparam("b_next"), **{c: bindparam(f"v_{c}") for c in _MOVED_ON}))
_TASK = Prepared(select(_TASKS).where(_TASKS.c.id == bindparam("id")))
_DROP_TASK_ROLES = Prepared(delete(_ROLES).where(_ROLES.c.task_id.in_(bindparam("ids", expanding=True)))
                            .returning(_ROLES.c.role, _ROLES.c.process_id, _ROLES.c.lane_role, _ROLES.c.stage))


class Record(SimpleNamespace):
    """A row as attributes (a deal's, a task's, a timer's): what a step reads and moves on."""


def deal(s, instance_id: int) -> Record | None:
    """The deal's row, or None."""
    row = _DEAL.first(s, {"id": instance_id})
    return None if row is None else Record(**row)


def lock_deal(s, instance_id: int) -> None:
    """Take the deal's row lock (FOR UPDATE) without reading its large columns."""
    connection(s).execute(_DEAL_LOCK, {"id": instance_id})


def new_deal(s, **columns) -> Record:
    """Insert a deal's first row and return it as a record (its id and lock version set), `starting`
    until its first step is saved (see starting)."""
    values = {c: columns.get(c) for c in DEAL_COLUMNS if c != "id"}
    values["lock_version"] = 1
    new_id = _INSERT_DEAL.scalar(s, values)
    return Record(id=new_id, starting=True, **values)


def starting(d: Record) -> bool:
    """True while the deal's first step (its start) is being saved: nothing of it but its row is stored
    yet, so the step reads none of its task, timer or stage rows."""
    return getattr(d, "starting", False)


def save_deal(s, d: Record) -> None:
    """Write what the step moved on; StaleDataError when another step committed on the deal first."""
    params = {"b_id": d.id, "b_lock": d.lock_version, "b_next": d.lock_version + 1,
              **{f"v_{c}": getattr(d, c) for c in _MOVED_ON}}
    if _UPDATE_DEAL.run(s, params) != 1:
        raise StaleDataError(f"deal #{d.id} was changed by another step (expected version {d.lock_version})")
    d.lock_version += 1


def task(s, task_id: str) -> Record | None:
    """The human task's row, or None."""
    row = _TASK.first(s, {"id": task_id})
    return None if row is None else Record(**row)


def open_and_named(s, table: Table, open_state: str, deal: Record, ids: set[str]) -> dict[str, Record]:
    """The deal's rows of `table` in `open_state` and those with the given ids, by id (none, without a
    query, for a deal that is starting).

    Two index reads, not one query with OR: SQLite would answer that by reading every row of
    the deal, and a deal that has looped for months has tens of thousands of them."""
    if starting(deal):
        return {}
    in_state, named = _reads(table, open_state)
    rows = {r["id"]: Record(**r) for r in in_state.rows(s, {"instance_id": deal.id})}
    if missing := ids - rows.keys():
        rows.update((r["id"], Record(**r)) for r in named.rows(s, {"ids": sorted(missing), "instance_id": deal.id}))
    return rows


def new_row(table: Table, **columns) -> Record:
    """A record of every column of `table` (unset ones their Python default, else None), to insert."""
    return Record(**{c.name: columns[c.name] if c.name in columns else _default(c) for c in table.columns
                     if c.computed is None})


def insert_rows(s, table: Table, records: list) -> None:
    """Insert records made by new_row (or plain dicts), in one statement."""
    prepared.insert_rows(s, table, [r if isinstance(r, dict) else vars(r) for r in records])


def update_rows(s, table: Table, records: list[Record], columns: tuple[str, ...]) -> None:
    """Write `columns` of each record back to its row (by id), in one statement."""
    if records:
        _update(table, columns).run(s, [{"b_id": r.id, **{f"v_{c}": getattr(r, c) for c in columns}} for r in records])


def drop_from_inbox(s, task_ids: list[str]) -> list[tuple]:
    """Delete the closed tasks' inbox index rows; returns each row's (role, process, lane role, stage)."""
    return _DROP_TASK_ROLES.tuples(s, {"ids": task_ids}) if task_ids else []


@cache
def _reads(table: Table, open_state: str):
    c = table.c
    return (Prepared(select(table).where(c.instance_id == bindparam("instance_id"), c.state == open_state)),
            Prepared(select(table).where(c.id.in_(bindparam("ids", expanding=True)),
                                         c.instance_id == bindparam("instance_id"))))


@cache
def _update(table: Table, columns: tuple[str, ...]):
    return Prepared(update(table).where(table.c.id == bindparam("b_id")).values(**{c: bindparam(f"v_{c}") for c in columns}))


def _default(column):
    d = column.default
    if d is None or not getattr(d, "is_scalar", False) and not getattr(d, "is_callable", False):
        return None
    return d.arg if d.is_scalar else d.arg(None)
