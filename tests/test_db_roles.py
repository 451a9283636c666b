"""On PostgreSQL the app runs as a role that may only add to the audit trail: `stagegate init
--owner-url` migrates as the owner and creates and grants the app's role, which then works as usual
but cannot update, delete, truncate audit events or switch their guard off."""
import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import DIAGRAMS, PG_URL, ROOT
from tests.drive import GOOD_PROSPECT


@pytest.fixture
def app_url(database_url, backend):
    """The test schema's URL as a new, uniquely named role (made by init; dropped afterwards)."""
    if backend != "postgres":
        pytest.skip("database roles are PostgreSQL's; on SQLite the keyed chain is the guard")
    role = f"sg_app_{uuid.uuid4().hex[:12]}"
    yield make_url(database_url).set(username=role).render_as_string(hide_password=False)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


@pytest.fixture
def as_app(app_url):
    """`stagegate ARGS...` connected as the app's role."""
    env = {**os.environ, "STAGEGATE_DATABASE_URL": app_url}

    def stagegate(*args):
        p = subprocess.run([sys.executable, "-m", "stagegate.cli", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stdout + p.stderr
        return p.stdout
    return stagegate


def _refused(url: str, statement: str) -> str:
    eng = create_engine(url)
    try:
        with pytest.raises(DBAPIError) as caught, eng.begin() as conn:
            conn.execute(text(statement))
        return str(caught.value.orig)
    finally:
        eng.dispose()


def test_the_app_role_works_but_can_only_add_to_the_audit_trail(as_app, app_url, database_url):
    assert as_app("init", "--owner-url", database_url).strip() == "database is up to date"
    as_app("deploy", str(DIAGRAMS))
    as_app("user", "add", "sam", "--role", "Sales")
    iid = as_app("start", "opportunity", "--user", "sam", "--data", json.dumps(GOOD_PROSPECT)).strip()
    task = json.loads(as_app("tasks", "--instance", iid, "--json"))[0]
    as_app("complete", task["id"], "--user", "sam", "--data",
           json.dumps({"pain_points": "downtime", "decision_maker": "plant director"}))
    verified = as_app("audit", "verify")
    assert verified.startswith("ok ") and int(verified.split()[1]) > 5
    assert as_app("init").strip() == "database is up to date", "at the newest migration the app role may init"

    for statement in ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
                      "DELETE FROM audit_events WHERE seq = 1", "TRUNCATE audit_events"):
        assert "permission denied for table audit_events" in _refused(app_url, statement), statement
    for statement in ("ALTER TABLE audit_events DISABLE TRIGGER USER", "ALTER TABLE audit_events DISABLE TRIGGER ALL",
                      "DROP TABLE audit_events"):
        assert "must be owner of table audit_events" in _refused(app_url, statement), statement
    assert "permission denied" in _refused(app_url, "SET session_replication_role = replica")
    assert "permission denied" in _refused(app_url, "CREATE TABLE audit_copy (id int)")
    assert as_app("audit", "verify") == verified, "nothing was changed"
