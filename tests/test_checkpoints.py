"""SQLite's write-ahead log is copied back into the database file by a background thread
(engine/store/checkpoints.py), never inside a step's commit: the log still gets copied while
deals are worked, it is started over instead of growing while writes go on, and what was written
is in the file once the Stagegate is closed."""
from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from engine.services.deployment import collect_files, deploy
from engine.services.instances import start_instance
from engine.services.users import add_user
from stagegate.compose import bootstrap
from tests.conftest import LOOP_BENCH, FrozenClock


@pytest.fixture
def loop_db(tmp_path):
    path = tmp_path / "wal.db"
    sg = bootstrap(f"sqlite:///{path}", clock=FrozenClock(), migrate=True)
    add_user(sg, "sam", ["Sales"], actor="cli:test")
    deploy(sg, collect_files([LOOP_BENCH]), actor="cli:test")
    return sg, path


def _threads_for(path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"wal-checkpoints {path}"]


def test_a_commit_never_checkpoints_and_the_log_is_copied_back_meanwhile(loop_db):
    sg, path = loop_db
    try:
        with sg.uow(write=False) as uow:
            assert uow.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        time.sleep(sg.checkpoints.interval_s * 2.5)  # the set-up's own writes copied back
        before, ran = os.path.getsize(path), sg.checkpoints.checkpoints
        for _ in range(40):
            start_instance(sg, "revision_loop", "sam", {})
        deadline = time.monotonic() + 10
        while os.path.getsize(path) <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.path.getsize(path) > before, "the deals' pages never reached the database file"
        assert sg.checkpoints.checkpoints > ran
        assert len(_threads_for(path)) == 1, "one checkpoint thread per database and process"
    finally:
        sg.dispose()


def test_closing_stops_the_thread_and_leaves_every_step_in_the_file(loop_db):
    sg, path = loop_db
    ids = [start_instance(sg, "revision_loop", "sam", {})["id"] for _ in range(5)]
    sg.dispose()
    assert _threads_for(path) == []
    assert not os.path.exists(f"{path}-wal") or os.path.getsize(f"{path}-wal") == 0
    with sqlite3.connect(path) as conn:
        found = {r[0] for r in conn.execute("SELECT id FROM instances")}
    conn.close()
    assert set(ids) <= found


def test_under_steady_writes_the_log_is_started_over_instead_of_growing(loop_db):
    sg, path = loop_db
    try:
        for _ in range(1000):  # ~100 MiB of log pages, written without a pause
            start_instance(sg, "revision_loop", "sam", {})
        with sg.uow(write=False) as uow:
            deals = uow.session.execute(text("SELECT count(*) FROM instances")).scalar()
        wal = os.path.getsize(f"{path}-wal")
        assert deals == 1000
        assert sg.checkpoints.restarts >= 2, "the log was not started over while the writes went on"
        # Each restart cuts the log back to 16 MiB; how far it grows in between depends on how soon the
        # thread gets a core on a busy box (36 MiB seen with the test suite's two workers running).
        assert wal <= 48 * 2**20, f"the log grew to {wal / 2**20:.0f} MiB"
    finally:
        sg.dispose()
