"""The audit trail is hash-chained: verify names the first event that was altered or removed."""
import pytest
from sqlalchemy import text

from engine import queries
from engine.audit import event_hash
from engine.models import AuditEvent
from tests.drive import PROPOSAL, Driver


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
    with sg.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_untouched_trail_verifies(trail):
    sg, n = trail
    assert queries.verify_audit(sg) == {"ok": True, "events": n, "first_broken_seq": None, "reason": None}


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


def test_rehashing_an_edited_event_is_caught_at_the_next_one(trail):
    sg, n = trail
    _sql(sg, "UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 3", h="f" * 64)
    r = queries.verify_audit(sg)
    assert r["first_broken_seq"] == 3  # its content no longer matches its hash
    # Even with a matching forged hash, the next event's link gives it away.
    with sg.uow(write=False) as uow:
        row = uow.session.get(AuditEvent, 3)
        forged = event_hash(row.prev_hash, 3, row.at, row.actor, row.kind, row.instance_id,
                            row.process_id, row.version, row.element_id, row.details)
    _sql(sg, "UPDATE audit_events SET hash = :h WHERE seq = 3", h=forged)
    r = queries.verify_audit(sg)
    assert r["first_broken_seq"] == 4 and "link" in r["reason"]


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
