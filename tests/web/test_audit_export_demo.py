"""The audit export of a demo database holds exactly the events of the filter: checked against
the stored rows read directly (plain SQL, filtered in Python) and against the gate decisions table."""
import csv
import io
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from engine.queries.audit_log import LogFilter, export
from stagegate.compose import bootstrap
from workflows.demo import DEMO_PASSWORD, load_demo
from tests.conftest import PG_URL, postgres_available
from web import create_app

from .conftest import Browser

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request, tmp_path_factory):
    """The demo database (load_demo, through migrations), and ada signed in to the web app on it."""
    admin = schema = None
    if request.param == "postgres":
        reason = postgres_available()
        if reason:
            pytest.skip(reason)
        schema, admin = f"t_{uuid.uuid4().hex[:12]}", create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    sg = bootstrap(url, migrate=True)
    made = []
    load_demo(lambda clock: made.append(bootstrap(url, clock=clock)) or made[-1], now=NOW)
    app = create_app({"STAGEGATE": sg, "TESTING": True, "SECRET_KEY": "test-secret"})
    ada = Browser(app.test_client())
    assert ada.login("ada", password=DEMO_PASSWORD).status_code == 302
    yield sg, ada
    for other in made + [sg]:
        other.dispose()
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _stored(sg) -> list[dict]:
    """Every audit row as stored, read with plain SQL."""
    with sg.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, at, actor, kind, process_id, version, details, hash "
                                 "FROM audit_events ORDER BY seq")).mappings().all()
    out = []
    for r in rows:
        at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(r["at"])
        details = r["details"] if isinstance(r["details"], dict) else json.loads(r["details"])
        out.append({**r, "day": at.date(), "details": details})
    return out


def _csv(ada, query) -> list[dict]:
    r = ada.get(f"/audit/export.csv?{query}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))


def test_the_csv_has_exactly_the_events_of_the_filter(demo):
    sg, ada = demo
    since, until = (NOW - timedelta(days=100)).date(), (NOW - timedelta(days=30)).date()
    rows = _csv(ada, f"actor=lena&kind=task_completed&process_id=opportunity&version=1&since={since}&until={until}")
    stored = _stored(sg)
    expected = [r["seq"] for r in stored if r["actor"] == "lena" and r["kind"] == "task_completed"
                and r["process_id"] == "opportunity" and r["version"] == 1 and since <= r["day"] <= until]
    lena_all = [r for r in stored if r["actor"] == "lena"]
    assert 5 < len(expected) < len(lena_all), "the demo gives the filter something to keep and something to drop"
    assert [int(r["seq"]) for r in rows] == expected
    by_seq = {r["seq"]: r for r in stored}
    for row in rows:
        original = by_seq[int(row["seq"])]
        assert row["hash"] == original["hash"] and json.loads(row["details"]) == original["details"]


def test_a_gate_outcome_filter_matches_the_gate_decisions_table(demo):
    sg, ada = demo
    with sg.engine.connect() as conn:
        kills = conn.execute(text("SELECT count(*) FROM gate_decisions WHERE outcome = 'kill'")).scalar_one()
    rows = _csv(ada, "outcome=kill")
    assert kills >= 10 and len(rows) == kills
    assert {(r["kind"], r["outcome"]) for r in rows} == {("gate_decided", "kill")}
    as_json = json.loads(ada.get("/audit/export.json?outcome=kill").get_data(as_text=True))
    assert [e["seq"] for e in as_json] == [int(r["seq"]) for r in rows]


def test_the_unfiltered_export_is_the_whole_chain_in_order_in_any_batch_size(demo):
    sg, ada = demo
    stored = _stored(sg)
    rows = _csv(ada, "")
    assert [int(r["seq"]) for r in rows] == [r["seq"] for r in stored] == list(range(1, len(stored) + 1))
    small_batches = [e["seq"] for e in export(sg, "ada", LogFilter(), batch=7)]
    assert small_batches == [r["seq"] for r in stored]
    assert date.fromisoformat(rows[0]["at"][:10]) < date.fromisoformat(rows[-1]["at"][:10])
