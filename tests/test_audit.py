"""The audit trail is a keyed hash chain: verify names the first event that was altered or removed,
even when whoever changed it recomputed every hash they could (they have no key)."""
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.queries import records as queries
from engine.store.append_only import AuditIsAppendOnly
from engine.audit import link_hash
from engine.store.models import AuditEvent
from tests.drive import PROPOSAL, Driver
from tests.tamper import cut_tail, relink_plainly, tamper


@pytest.fixture
def trail(catalog, make_sg):
    """A few deals worth of audit events."""
    drive = Driver(make_sg)
    drive.start(annual_revenue_musd=30)
    iid = drive.to_proposal()
    drive.work(iid, "Task_PrepareProposal", "sam", **PROPOSAL)
    r = queries.verify_audit(drive.sg)
    assert r["ok"] and r["events"] > 8
    return drive.sg, r["events"]


def _sql(sg, statement, **params):
    tamper(sg.engine, statement, **params)


INTACT = {"ok": True, "first_broken_seq": None, "reason": None, "event": None, "keyed_from": 1,
          "unkeyed_events": 0, "checkpoints": 0, "newest_checkpoint": None}


def test_untouched_trail_verifies(trail):
    sg, n = trail
    assert queries.verify_audit(sg) == {**INTACT, "events": n}


@pytest.mark.parametrize("column, value", [("actor", "mallory"), ("kind", "task_completed"), ("element_id", "X")])
def test_editing_a_column_breaks_the_chain_at_that_event(trail, column, value):
    sg, n = trail
    target = n // 2
    _sql(sg, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=value, s=target)
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["first_broken_seq"] == target and "altered" in r["reason"]


def test_editing_the_recorded_data_breaks_the_chain(trail):
    sg, n = trail
    seq = next(e["seq"] for e in queries.history(sg, 2) if e["kind"] == "task_completed")
    _sql(sg, "UPDATE audit_events SET details = :d WHERE seq = :s",
         d='{"data": {"price": 1}, "role": "sales", "task_id": "x", "task_name": "Prepare proposal"}', s=seq)
    r = queries.verify_audit(sg)
    assert r["first_broken_seq"] == seq


def test_rehashing_an_edited_event_is_caught_at_that_event(trail):
    sg, n = trail
    _sql(sg, "UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 3", h="f" * 64)
    r = queries.verify_audit(sg)
    assert r["first_broken_seq"] == 3  # its content no longer matches its hash
    # A hash recomputed the only way a database writer can (plain SHA-256, no key) does not match either.
    with sg.uow(write=False) as uow:
        forged = link_hash(None, uow.session.get(AuditEvent, 3).prev_hash, uow.session.get(AuditEvent, 3))
    _sql(sg, "UPDATE audit_events SET hash = :h WHERE seq = 3", h=forged)
    r = queries.verify_audit(sg)
    assert r["first_broken_seq"] == 3 and "altered" in r["reason"]


def test_an_edited_event_with_every_plain_hash_after_it_recomputed_is_caught(trail):
    """The issue's first forgery: edit an event, recompute the hashes from it to the head (and the head)."""
    sg, n = trail
    target = n // 2
    _sql(sg, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=target)
    relink_plainly(sg.engine, target)
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["first_broken_seq"] == target and "altered" in r["reason"]


def test_a_chain_relinked_plainly_from_its_first_event_is_not_ok(trail):
    """Without a keyed event anywhere, plain links prove nothing: never reported as verified."""
    sg, n = trail
    _sql(sg, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    relink_plainly(sg.engine, 1)
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["events"] == n and r["keyed_from"] is None and r["unkeyed_events"] == n
    assert f"none of the {n} events is keyed" in r["reason"]


def test_a_cut_tail_with_the_head_moved_back_needs_a_checkpoint_to_show(trail):
    """The issue's second forgery: the key alone cannot tell (the rest still links), a checkpoint does."""
    sg, n = trail
    checkpoint = queries.audit_checkpoint(sg)["checkpoint"]
    assert checkpoint["events"] == checkpoint["seq"] == n
    cut_tail(sg.engine, 5)
    assert queries.verify_audit(sg)["ok"], "what is left links up"
    r = queries.verify_audit(sg, [checkpoint])
    assert not r["ok"] and r["first_broken_seq"] == n - 4 and f"events {n - 4} to {n} were cut" in r["reason"]


def test_deleting_an_event_is_caught_where_it_was(trail):
    sg, n = trail
    _sql(sg, "DELETE FROM audit_events WHERE seq = 5")
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["first_broken_seq"] == 5 and "missing" in r["reason"]


def test_deleting_the_newest_event_is_caught(trail):
    sg, n = trail
    _sql(sg, "DELETE FROM audit_events WHERE seq = :s", s=n)
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["first_broken_seq"] == n


def test_swapping_two_events_is_caught_at_the_first(trail):
    sg, n = trail
    _sql(sg, "UPDATE audit_events SET seq = -1 WHERE seq = 6")
    _sql(sg, "UPDATE audit_events SET seq = 6 WHERE seq = 7")
    _sql(sg, "UPDATE audit_events SET seq = 7 WHERE seq = -1")
    r = queries.verify_audit(sg)
    assert not r["ok"] and r["first_broken_seq"] == 6


def _row(sg, seq) -> dict:
    with sg.engine.connect() as conn:
        return dict(conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq == seq)).mappings().one())


def _put_back(sg, row) -> None:
    table = AuditEvent.__table__
    stored = {k: v for k, v in row.items() if table.c[k].computed is None}  # the database computes the others
    with sg.engine.begin() as conn:
        conn.execute(table.insert().values(**stored))


# Each change tampers with row `seq` of `n` and returns (the row verify must name, how to undo it).
def _edit(sg, seq, n, original):
    _sql(sg, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=seq)
    return seq, lambda: _sql(sg, "UPDATE audit_events SET actor = :a WHERE seq = :s", a=original["actor"], s=seq)


def _delete(sg, seq, n, original):
    _sql(sg, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    return seq, lambda: _put_back(sg, original)


def _move(sg, seq, n, original):
    """Swap the event with its successor (or, for the newest one, its predecessor)."""
    a, b = (seq, seq + 1) if seq < n else (seq - 1, seq)
    _sql(sg, "UPDATE audit_events SET seq = -1 WHERE seq = :a", a=a)
    _sql(sg, "UPDATE audit_events SET seq = :a WHERE seq = :b", a=a, b=b)
    _sql(sg, "UPDATE audit_events SET seq = :b WHERE seq = -1", b=b)

    def undo():
        _sql(sg, "UPDATE audit_events SET seq = -1 WHERE seq = :b", b=b)
        _sql(sg, "UPDATE audit_events SET seq = :b WHERE seq = :a", a=a, b=b)
        _sql(sg, "UPDATE audit_events SET seq = :a WHERE seq = -1", a=a)
    return a, undo


@pytest.mark.parametrize("change", [_edit, _delete, _move], ids=["edit", "delete", "reorder"])
def test_changing_any_single_row_breaks_verify_at_that_row(trail, change):
    sg, n = trail
    for seq in range(1, n + 1):
        expected, undo = change(sg, seq, n, _row(sg, seq))
        r = queries.verify_audit(sg)
        assert not r["ok"] and r["first_broken_seq"] == expected, (change.__name__, seq, r)
        undo()
    assert queries.verify_audit(sg)["ok"], "every row was put back as it was"


def test_verify_names_the_broken_event_as_stored(trail):
    sg, n = trail
    row = _row(sg, 4)
    _sql(sg, "UPDATE audit_events SET element_id = 'X' WHERE seq = 4")
    r = queries.verify_audit(sg)
    assert r["event"]["seq"] == 4 and r["event"]["kind"] == row["kind"] and r["event"]["actor"] == row["actor"]
    assert r["event"]["element_id"] == "X"


def test_the_orm_refuses_to_change_or_delete_audit_events(trail):
    sg, n = trail
    attempts = [
        lambda s: setattr(s.get(AuditEvent, 2), "actor", "mallory"),
        lambda s: s.delete(s.get(AuditEvent, 2)),
        lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory")),
        lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq == 2)),
    ]
    for attempt in attempts:
        with sg.uow() as uow, pytest.raises(AuditIsAppendOnly, match="never"):
            attempt(uow.session)
            uow.session.flush()
            uow.commit()
    assert queries.verify_audit(sg) == {**INTACT, "events": n}


@pytest.mark.postgres
def test_postgres_triggers_refuse_plain_update_delete_and_truncate(trail, backend):
    if backend != "postgres":
        pytest.skip("the triggers are PostgreSQL's; SQLite relies on the ORM guard and the hash chain")
    sg, n = trail
    for statement in ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3",
                      "DELETE FROM audit_events WHERE seq = 3", "TRUNCATE audit_events"):
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            with sg.engine.begin() as conn:
                conn.execute(text(statement))
    assert queries.verify_audit(sg)["ok"] and queries.verify_audit(sg)["events"] == n
