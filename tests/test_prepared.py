"""The step's prepared statements (engine/store/prepared.py) read and write exactly what SQLAlchemy's
own execution would: the same values of every column type, IN lists of any length, SQLAlchemy's
errors with the transaction left as it was, and a fresh connection after a rollback. On SQLite they
run on the DBAPI cursor; on PostgreSQL through SQLAlchemy, and the same tests hold."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from engine.services.instances import start_instance
from engine.store import deal_rows
from engine.store.models import HumanTask, TaskRole
from engine.store.prepared import Prepared, _Form, insert_rows

TASKS, ROLES = HumanTask.__table__, TaskRole.__table__
AT = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)


def _orm_row(s, table, **where) -> dict:
    """The row as SQLAlchemy's own execution reads it."""
    stmt = select(table).where(*(table.c[k] == v for k, v in where.items()))
    return dict(s.execute(stmt).mappings().one())


def _task_row(tid: str, instance_id: int, **columns) -> deal_rows.Record:
    return deal_rows.new_row(TASKS, **{
        "id": tid, "instance_id": instance_id, "process_id": "revision_loop", "element_id": "Task_Draft",
        "name": "Draft quote", "role": "sales", "roles": ["sales", "finance"], "candidate_users": ["sam"],
        "form": [{"id": "note", "type": "string", "required": True}], "state": "ready", "created_at": AT,
        "due_at": None, **columns})


@pytest.fixture
def deal(sg, revision_loop):
    """A revision-loop deal waiting at its first draft."""
    return start_instance(sg, "revision_loop", "sam", {})


def test_a_task_read_by_the_prepared_statement_is_the_row_sqlalchemy_reads(sg, deal):
    tid = deal["ready_tasks"][0]["id"]
    with sg.uow(write=False) as uow:
        fast = vars(deal_rows.task(uow.session, tid))
        own = _orm_row(uow.session, TASKS, id=tid)
    assert fast == own
    assert fast["roles"] == ["sales"] and isinstance(fast["created_at"], datetime)


def test_rows_written_through_it_read_back_as_if_written_by_sqlalchemy(sg, deal):
    with sg.uow() as uow:
        s = uow.session
        insert_rows(s, TASKS, [vars(_task_row("fast-1", deal["id"]))])
        s.execute(insert(TASKS), [vars(_task_row("core-1", deal["id"]))])
        insert_rows(s, ROLES, [dict(task_id="fast-1", role="sales", process_id="revision_loop", lane_role=None,
                                    stage="Proposal", created_at=AT, due_at=None, shared=True)])
        s.execute(insert(ROLES), [dict(task_id="core-1", role="sales", process_id="revision_loop", lane_role=None,
                                       stage="Proposal", created_at=AT, due_at=None, shared=True)])
        uow.commit()
    with sg.uow(write=False) as uow:
        s = uow.session
        fast, own = _orm_row(s, TASKS, id="fast-1"), _orm_row(s, TASKS, id="core-1")
        assert {**fast, "id": "core-1"} == own
        assert fast["form"][0]["required"] is True and fast["candidate_users"] == ["sam"]
        assert fast["created_at"].replace(tzinfo=timezone.utc) == AT  # microseconds kept
        fast_role, own_role = _orm_row(s, ROLES, task_id="fast-1"), _orm_row(s, ROLES, task_id="core-1")
        assert {**fast_role, "task_id": "core-1"} == own_role and fast_role["shared"] is True


def test_an_in_list_of_any_length_and_many_rows_in_one_statement(sg, deal):
    ids = [f"t-{i}" for i in range(5)]
    with sg.uow() as uow:
        s = uow.session
        insert_rows(s, TASKS, [vars(_task_row(t, deal["id"])) for t in ids])
        insert_rows(s, ROLES, [dict(task_id=t, role=r, process_id="revision_loop", lane_role="sales",
                                    stage=None, created_at=AT, due_at=None, shared=False)
                               for t in ids for r in ("sales", "finance")])
        assert sorted(deal_rows.drop_from_inbox(s, ids[:1])) == [("finance", "revision_loop", "sales", None),
                                                                 ("sales", "revision_loop", "sales", None)]
        assert len(deal_rows.drop_from_inbox(s, ids[1:4])) == 6
        named = deal_rows.open_and_named(s, TASKS, "cancelled", deal_rows.deal(s, deal["id"]), {"t-4", "t-1", "nope"})
        assert sorted(named) == ["t-1", "t-4"]
        named["t-1"].state = named["t-4"].state = "cancelled"
        deal_rows.update_rows(s, TASKS, [named["t-1"], named["t-4"]], ("state",))
        uow.commit()
    with sg.uow(write=False) as uow:
        s = uow.session
        the_deal = deal_rows.deal(s, deal["id"])
        assert sorted(deal_rows.open_and_named(s, TASKS, "cancelled", the_deal, set())) == ["t-1", "t-4"]
    with sg.uow(write=False) as uow:
        left = uow.session.execute(select(ROLES.c.task_id).where(ROLES.c.task_id.in_(ids))).scalars().all()
    assert sorted(left) == ["t-4", "t-4"]


def test_a_refused_write_raises_sqlalchemys_error_and_leaves_the_rows_as_they_were(sg, deal):
    tid = deal["ready_tasks"][0]["id"]
    with sg.uow() as uow:
        with pytest.raises(IntegrityError):
            insert_rows(uow.session, TASKS, [vars(_task_row(tid, deal["id"]))])  # its id is taken
    with sg.uow(write=False) as uow:
        row = _orm_row(uow.session, TASKS, id=tid)
    assert row["name"] == "Draft quote" and row["state"] == "ready" and row["roles"] == ["sales"]


def test_after_a_rollback_it_runs_on_the_sessions_next_transaction(sg, deal):
    with sg.uow() as uow:
        s = uow.session
        insert_rows(s, TASKS, [vars(_task_row("gone", deal["id"]))])
        assert deal_rows.task(s, "gone") is not None
        s.rollback()  # as a failed step does, before it records its incident in the same block
        assert deal_rows.task(s, "gone") is None
        insert_rows(s, TASKS, [vars(_task_row("kept", deal["id"]))])
        uow.commit()
    with sg.uow(write=False) as uow:
        assert deal_rows.task(uow.session, "kept").name == "Draft quote"


def test_what_only_sqlalchemy_can_run_is_left_to_it(sg, deal):
    # candidate_users and form have Python-side defaults: an INSERT that leaves them out needs
    # SQLAlchemy to fill them in, so it is not compiled for the cursor, and the defaults are stored.
    partial = Prepared(insert(TASKS), ("id", "instance_id", "process_id", "element_id", "role", "roles", "state",
                                       "created_at"))
    with sg.uow() as uow:
        partial.run(uow.session, {"id": "partial", "instance_id": deal["id"], "process_id": "revision_loop",
                                  "element_id": "Task_Draft", "role": "sales", "roles": ["sales"], "state": "ready",
                                  "created_at": AT})
        assert _Form.of(partial, uow.session.get_bind().dialect) is None
        uow.commit()
    with sg.uow(write=False) as uow:
        row = _orm_row(uow.session, TASKS, id="partial")
    assert row["candidate_users"] == [] and row["form"] == []


def test_the_hot_paths_statements_run_on_the_cursor_on_sqlite(sg):
    if sg.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs every statement through SQLAlchemy")
    by_id = Prepared(select(TASKS).where(TASKS.c.id.in_(bindparam("ids", expanding=True))))
    assert _Form.of(by_id, sg.engine.dialect) is not None
    assert _Form.of(deal_rows._UPDATE_DEAL, sg.engine.dialect) is not None
    assert _Form.of(deal_rows._INSERT_DEAL, sg.engine.dialect) is not None


def test_a_lone_read_sees_what_is_committed_and_nothing_before(sg, deal):
    # An API token's check runs this way on every request: a revocation must count from its commit on.
    with sg.uow() as uow:
        insert_rows(uow.session, TASKS, [vars(_task_row("pending", deal["id"]))])
        with sg.lone_read() as conn:
            assert deal_rows.task(conn, "pending") is None  # not committed yet
        uow.commit()
    with sg.lone_read() as conn:
        assert deal_rows.task(conn, "pending").name == "Draft quote"
    with sg.uow() as uow:
        deal_rows.update_rows(uow.session, TASKS, [_task_row("pending", deal["id"], state="cancelled")], ("state",))
        uow.commit()
    with sg.lone_read() as conn:  # a later read sees the later commit, not a snapshot kept from before
        assert deal_rows.task(conn, "pending").state == "cancelled"
