"""Migration 0014_records on a database that already has an audit trail: the person behind each
engine step becomes findable without rewriting a single event, and the trail stays append-only."""
import json
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from engine import audit
from engine.audit import keys as audit_key
from engine.queries import audit_log
from stagegate.compose import bootstrap
from engine.store.schema import alembic_config
from engine.services.users import add_user

BEFORE = "0011_open_task_counts"


def _migrate(engine, target: str) -> None:
    cfg = alembic_config(engine)
    cfg.attributes["audit_keys"] = audit_key.load()  # migration 0016 signs the chain with it
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def _old_trail(conn) -> None:
    """Three chained events written as the code before 0014 wrote them (no on_behalf_of column; linked
    with plain SHA-256, as before migration 0016 keyed the chain)."""
    prev, at = audit.GENESIS, datetime(2026, 10, 1, 9, tzinfo=timezone.utc)
    events = [("lena", "task_completed", {"task_name": "Discovery gate review", "data": {"discovery_decision": "go"}}),
              ("engine", "gate_decided", {"gate": "discovery", "outcome": "go", "on_behalf_of": "lena"}),
              ("sam", "instance_started", {"data": {}})]
    for seq, (actor, kind, details) in enumerate(events, start=1):
        details = json.loads(audit.canonical(details))
        digest = audit.link_hash(None, prev, {"seq": seq, "at": at, "actor": actor, "kind": kind, "instance_id": 1,
                                              "process_id": "opportunity", "version": 1, "element_id": None,
                                              "details": details})
        conn.execute(text("INSERT INTO audit_events (seq, at, actor, kind, instance_id, process_id, version, element_id,"
                          " details, prev_hash, hash) VALUES (:seq, :at, :actor, :kind, 1, 'opportunity', 1, NULL,"
                          " :details, :prev, :hash)"),
                     {"seq": seq, "at": at, "actor": actor, "kind": kind, "details": json.dumps(details), "prev": prev,
                      "hash": digest})
        prev = digest
    conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"), {"h": prev})


def test_existing_engine_steps_become_findable_by_the_person_behind_them(database_url, backend):
    engine = create_engine(database_url)
    _migrate(engine, BEFORE)
    with engine.begin() as conn:
        _old_trail(conn)
    _migrate(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, on_behalf_of FROM audit_events ORDER BY seq")).all()
    # (event 4 is the keyed event with which 0016 sealed the plain chain)
    assert [tuple(r) for r in rows] == [(1, None), (2, "lena"), (3, None), (4, None)]
    if backend == "postgres":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = 2"))
    engine.dispose()

    sg = bootstrap(database_url)
    add_user(sg, "ada", ["Auditor"], "cli:test")
    checked = audit_log.verify(sg, "ada")
    assert checked["ok"], "the migration changed no hashed content"
    assert "events 1 to 3 were linked before the chain was keyed" in checked["summary"]
    found = audit_log.search(sg, "ada", audit_log.log_filter(actor="lena", kind="gate_decided"))
    assert [(r["seq"], r["actor"], r["on_behalf_of"]) for r in found["rows"]] == [(2, "engine", "lena")]
    sg.dispose()


def test_closed_deals_get_their_gate_and_end_event_back_through_a_downgrade_and_upgrade(make_sg, database_url):
    from engine.services.deployment import collect_files, deploy
    from engine.store.models import DealOutcome
    from tests.conftest import DIAGRAMS, STAFF
    from tests.drive import Driver

    sg = make_sg(migrate=True)
    for name, roles in STAFF.items():
        add_user(sg, name, roles, "cli:test")
    deploy(sg, collect_files([DIAGRAMS]), "cli:test")
    drive = Driver(lambda clock=None: sg)
    killed = drive.start(annual_revenue_musd=30)["id"]
    open_deal = drive.start()["id"]
    engine = create_engine(database_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE)
    _migrate(engine, "head")
    engine.dispose()
    with sg.uow(write=False) as uow:
        rows = {r.instance_id: (r.fate, r.gate, r.stage, r.reason, r.end_event, r.end_event_name)
                for r in uow.session.query(DealOutcome)}
    assert open_deal not in rows, "an open deal has no outcome row"
    assert rows == {killed: ("killed", "qualification", "Qualification", "annual revenue $30MM is below $50MM",
                             "EndEvent_Disqualified", "Disqualified")}
