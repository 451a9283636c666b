"""SQLite's writers queue on a file lock (engine/store/db.py WriterQueue): a second writer waits
for the first to finish instead of polling SQLite's lock, one thread's nested writes do not wait
on themselves, a reading unit becomes the writer only while nothing was committed since its
snapshot, and a step's work is not lost or doubled while two threads complete tasks."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from engine.errors import Conflict
from engine.queries.records import history, ready_tasks
from engine.services import instances
from engine.services.instances import complete_task, start_instance
from engine.store.db import make_engine, writer_queue
from tests.conftest import FrozenClock


@pytest.fixture
def sqlite_sg(tmp_path):
    from stagegate.compose import bootstrap
    sg = bootstrap(f"sqlite:///{tmp_path / 'q.db'}", clock=FrozenClock(), migrate=True)
    yield sg
    sg.dispose()


def test_a_second_writer_waits_until_the_first_leaves(sqlite_sg):
    order, first_in = [], threading.Event()

    def second():
        first_in.wait()
        with sqlite_sg.uow():
            order.append("second in")

    t = threading.Thread(target=second)
    t.start()
    with sqlite_sg.uow():
        first_in.set()
        t.join(0.3)  # it cannot get in while this block holds the queue
        assert t.is_alive(), "the second writer got in while the first was still writing"
        order.append("first out")
    t.join(5)
    assert order == ["first out", "second in"]


def test_readers_do_not_queue_and_nested_writes_do_not_deadlock(sqlite_sg):
    done = threading.Event()
    with sqlite_sg.uow() as outer:
        outer.session.rollback()  # a failed step: rolled back, then its incident in a transaction of its own
        with sqlite_sg.uow() as incident:
            incident.commit()

        def reader():
            with sqlite_sg.uow(write=False):
                done.set()

        t = threading.Thread(target=reader)
        t.start()
        t.join(5)
    assert done.is_set(), "a read-only unit of work waited for the writer"


def _users(uow) -> int:
    return uow.session.connection().exec_driver_sql("SELECT count(*) FROM users").scalar()


def _add_user(uow, name: str) -> None:
    uow.session.connection().exec_driver_sql(
        f"INSERT INTO users (name, active, created_at) VALUES ('{name}', 1, '2026-01-01')")


def test_a_reading_unit_becomes_the_writer_while_nothing_was_committed_since_its_snapshot(sqlite_sg):
    second_in = threading.Event()

    def second():
        with sqlite_sg.uow():
            second_in.set()

    with sqlite_sg.uow(write=False) as reading:
        assert _users(reading) == 0
        assert reading.upgrade(), "nothing was written since the snapshot, yet it could not write"
        t = threading.Thread(target=second)
        t.start()
        assert not second_in.wait(0.3), "another writer got in while the upgraded unit held the queue"
        _add_user(reading, "ann")
        reading.commit()
    t.join(5)
    assert second_in.is_set()
    with sqlite_sg.uow(write=False) as later:
        assert _users(later) == 1, "the upgraded unit's write was not committed"


def test_a_reading_unit_stays_a_reader_once_another_writer_committed(sqlite_sg):
    with sqlite_sg.uow(write=False) as reading:
        assert _users(reading) == 0
        with sqlite_sg.uow() as other:
            _add_user(other, "bob")
            other.commit()
        assert not reading.upgrade(), "it could write on a snapshot older than the newest commit"
        assert _users(reading) == 0, "the reader's snapshot moved"
        with sqlite_sg.uow() as writer:  # a failed upgrade leaves the queue to others
            _add_user(writer, "cy")
            writer.commit()
    with sqlite_sg.uow(write=False) as later:
        assert _users(later) == 2


def test_a_reading_unit_does_not_wait_in_the_queue_holding_its_snapshot(sqlite_sg):
    """Whoever holds the queue (a writer, the checkpointer restarting the log, which waits for
    readers to finish) would otherwise wait on the reader that waits on them."""
    holding, leave = threading.Event(), threading.Event()

    def holder():
        with sqlite_sg.writers:
            holding.set()
            leave.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert holding.wait(5)
        with sqlite_sg.uow(write=False) as reading:
            _users(reading)
            started = time.monotonic()
            assert not reading.upgrade(), "it took the write lock while another held the queue"
            assert time.monotonic() - started < 0.1, "it waited in the queue holding its snapshot"
    finally:
        leave.set()
        t.join(5)


def test_a_task_completed_by_another_thread_while_worked_out_is_refused_once_done(sg, revision_loop, monkeypatch):
    """The other thread commits between this completion's snapshot and its writes: the writes do not
    go ahead on the old snapshot, the task is done once, by the other thread, and the loser is told."""
    iid = start_instance(sg, "revision_loop", "sam", {})["id"]
    task = next(t for t in ready_tasks(sg, instance_id=iid) if t["element_id"] == "Task_Draft")
    real_settle, raced = instances.settle, []

    def settle_after_a_rival(sg_, runner):
        if not raced:
            raced.append(True)
            rival = threading.Thread(target=complete_task, args=(sg, task["id"], "sam", {"revision_note": "rival"}))
            rival.start()
            rival.join(30)
        return real_settle(sg_, runner)

    monkeypatch.setattr(instances, "settle", settle_after_a_rival)
    with pytest.raises(Conflict, match="already completed by sam"):
        complete_task(sg, task["id"], "sam", {"revision_note": "late"})
    assert [t["element_id"] for t in ready_tasks(sg, instance_id=iid)] == ["Task_Review"]
    drafts = [e for e in history(sg, iid) if e["kind"] == "task_completed"]
    assert [e["details"]["data"]["revision_note"] for e in drafts] == ["rival"]


def test_no_queue_for_a_server_database_or_memory(sqlite_sg):
    from sqlalchemy import create_engine
    assert writer_queue(sqlite_sg.engine) is not None
    assert writer_queue(create_engine("sqlite://")) is None
    assert writer_queue(create_engine("postgresql+psycopg://nobody@127.0.0.1/none")) is None


def test_two_threads_completing_tasks_lose_nothing(sg, revision_loop):
    deals = [start_instance(sg, "revision_loop", "sam", {})["id"] for _ in range(6)]
    errors = []

    def work(ids):
        try:
            for iid in ids:
                task = next(t for t in ready_tasks(sg, instance_id=iid) if t["element_id"] == "Task_Draft")
                complete_task(sg, task["id"], "sam", {"revision_note": f"from {threading.current_thread().name}"})
        except Exception as exc:  # reported below with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(deals[i::2],), name=f"t{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for iid in deals:
        assert [t["element_id"] for t in ready_tasks(sg, instance_id=iid)] == ["Task_Review"]


def test_a_writer_outside_the_queue_holding_the_file_is_a_database_error_saying_locked(tmp_path):
    """BEGIN IMMEDIATE runs on the driver's connection; its failure is still SQLAlchemy's
    OperationalError, which the CLI reports as "the database could not be used"."""
    path = tmp_path / "held.db"
    engine = make_engine(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.commit()
            conn.connection.driver_connection.execute("PRAGMA busy_timeout = 50")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            with engine.connect().execution_options(stagegate_write=True) as conn:
                conn.begin()
        holder.execute("ROLLBACK")
        with engine.connect().execution_options(stagegate_write=True) as conn:
            with conn.begin():
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert holder.execute("SELECT count(*) FROM t").fetchone() == (1,)
    finally:
        holder.close()
        engine.dispose()
