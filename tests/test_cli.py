"""The command-line contract scripts rely on: output formats, exit codes, no tracebacks."""
import json
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from click.testing import CliRunner

from stagegate.cli import main
from stagegate.compose import bootstrap
from engine.store.models import Base
from engine.passwords import check_password
from tests.conftest import DIAGRAMS, REAL_SCRYPT_N, ROOT
from tests.drive import DISCOVERY, GOOD_PROSPECT
from tests.tamper import tamper


@pytest.fixture
def cli(database_url):
    env = {**os.environ, "STAGEGATE_DATABASE_URL": database_url}

    def run(*args, ok=True, **extra_env):
        p = subprocess.run([sys.executable, "-m", "stagegate.cli", *args], cwd=ROOT, env={**env, **extra_env},
                           capture_output=True, text=True, timeout=120)
        assert "Traceback" not in p.stdout + p.stderr, p.stderr
        if ok:
            assert p.returncode == 0, p.stderr
        return p

    bootstrap(database_url, migrate=True).dispose()  # what `stagegate init` does, without a process of its own
    return run


def test_init_is_idempotent_and_migrations_match_the_models(cli, database_url):
    assert cli("init").stdout.strip() == "database is up to date"
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration"


def test_the_tables_tests_build_are_the_models(sg):
    """tests/conftest.py's create_tables (one batch of DDL on PostgreSQL) builds what create_all builds."""
    with sg.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        if sg.engine.dialect.name == "postgresql":
            triggers = conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass")
            assert sorted(r[0] for r in triggers) == ["audit_events_append_only", "audit_events_append_only_truncate"]


def test_a_password_set_from_the_cli_is_scrypt_at_the_real_cost(cli, database_url):
    cli("user", "add", "sam", "--role", "Sales", "--password", "correct horse battery")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users WHERE name = 'sam'").scalar()
    engine.dispose()
    assert stored.startswith(f"scrypt${REAL_SCRYPT_N}$8$1$") and REAL_SCRYPT_N == 2**14
    assert check_password(stored, "correct horse battery") and not check_password(stored, "correct horse")


def test_full_journey_through_the_cli(cli):
    out = cli("deploy", str(DIAGRAMS)).stdout.splitlines()
    assert "opportunity v1" in out and "discount_approval v1" in out and "qualification v1 (decision)" in out
    assert "opportunity v1 (unchanged)" in cli("deploy", str(DIAGRAMS)).stdout.splitlines()
    assert cli("user", "add", "sam", "--role", "Sales").stdout.strip() == "sam: sales"
    cli("user", "add", "fiona", "--role", "Finance", "--role", "Sales Leadership")
    users = json.loads(cli("user", "list", "--json").stdout)
    assert {"name": "fiona", "roles": ["finance", "sales leadership"], "active": True} in users

    iid = int(cli("start", "opportunity", "--user", "sam", "--data", json.dumps(GOOD_PROSPECT)).stdout.strip())
    tasks = json.loads(cli("tasks", "--user", "sam", "--json").stdout)
    assert [(t["instance_id"], t["process_id"], t["element_id"], t["name"], t["role"]) for t in tasks] == [
        (iid, "opportunity", "Task_Discovery", "Discovery", "sales")]
    assert json.loads(cli("tasks", "--user", "fiona", "--json").stdout) == []

    refused = cli("complete", tasks[0]["id"], "--user", "fiona", "--data", "{}", ok=False)
    assert refused.returncode == 1 and "fiona may not work on 'Discovery'" in refused.stderr
    bad = cli("complete", tasks[0]["id"], "--user", "sam", "--data", '{"pain_points": ""}', ok=False)
    assert bad.returncode == 1 and "pain_points: is required" in bad.stderr
    cli("complete", tasks[0]["id"], "--user", "sam", "--data", json.dumps(DISCOVERY))
    again = cli("complete", tasks[0]["id"], "--user", "sam", "--data", json.dumps(DISCOVERY), ok=False)
    assert again.returncode == 1 and "already completed by sam" in again.stderr

    shown = json.loads(cli("show", str(iid), "--json").stdout)
    assert shown["id"] == iid and shown["process_id"] == "opportunity" and shown["version"] == 1
    assert shown["status"] == "running" and shown["data"]["decision_maker"] == "Plant director"
    history = json.loads(cli("history", str(iid), "--json").stdout)
    assert [e["kind"] for e in history] == ["instance_started", "decision_evaluated", "gate_decided",
                                             "task_completed"]
    assert all({"at", "actor", "kind", "element_id", "details"} <= set(e) for e in history)
    assert cli("audit", "verify").stdout.startswith("ok ")


def test_killed_deal_shows_where_it_ended(cli):
    cli("deploy", str(DIAGRAMS))
    cli("user", "add", "sam", "--role", "Sales")
    iid = cli("start", "opportunity", "--user", "sam", "--data",
              json.dumps({**GOOD_PROSPECT, "annual_revenue_musd": 30})).stdout.strip()
    shown = json.loads(cli("show", iid, "--json").stdout)
    assert shown["status"] == "completed" and shown["ended_at_element"] == "EndEvent_Disqualified"
    assert shown["outcome"]["kind"] == "killed" and shown["outcome"]["gate"] == "qualification"
    lines = cli("show", iid).stdout.splitlines()
    assert lines[1] == "outcome: killed at the Qualification gate: annual revenue $30MM is below $50MM"
    gate = [line for line in cli("history", iid).stdout.splitlines() if "gate_decided" in line]
    assert len(gate) == 1 and "engine (after sam)" in gate[0], "the engine decided on sam's start"


@pytest.mark.parametrize("args, message", [
    (["start", "opportunity", "--user", "sam", "--data", "{not json"], "--data is not valid JSON"),
    (["start", "opportunity", "--user", "sam", "--data", "[1]"], "--data must be a JSON object"),
    (["start", "nope", "--user", "sam"], "no process 'nope' is deployed"),
    (["show", "999", "--json"], "no instance with id 999"),
    (["history", "999"], "no instance with id 999"),
    (["complete", "nope", "--user", "sam"], "no task with id nope"),
    (["deploy", "/no/such/dir"], "no such file or folder"),
    # Input past its bounds: said, never a traceback (issue 15 section 4).
    (["start", "opportunity", "--user", "sam", "--data", '{"customer": ' + "[" * 1000 + "]" * 1000 + "}"],
     "--data nests arrays and objects deeper than 32 levels"),
    (["start", "opportunity", "--user", "sam", "--data", '{"customer": "\\ud800"}'],
     "--data holds a lone surrogate (U+D800)"),
    (["start", "opportunity", "--user", "sam", "--data", '{"deal_value": NaN}'], "--data: NaN is not a JSON number"),
    (["show", "99999999999999999999"], "99999999999999999999 is not in the range 0<=x<=9223372036854775807"),
    (["tasks", "--instance", "99999999999999999999"], "is not in the range"),
    (["metrics", "--version", "99999999999999999999"], "is not in the range"),
    (["metrics", "--to", "9999-12-31"], "to date must be from 1900-01-01 to 9998-12-31"),
    (["cpa-review", "--threshold", "9" * 30, "--user", "sam"], "threshold: must be at most 9,223,372,036,854,775,807"),
])
def test_expected_errors_exit_1_or_2_with_a_message_and_no_traceback(cli, database_url, args, message):
    # In-process (same code path as the console script) to keep the suite quick.
    runner = CliRunner()
    runner.invoke(main, ["--database-url", database_url, "user", "add", "sam", "--role", "Sales"])
    result = runner.invoke(main, ["--database-url", database_url, *args])
    assert isinstance(result.exception, SystemExit) and result.exit_code in (1, 2), result.exception
    assert message in result.output


def test_uninitialised_database_is_reported_not_crashed(tmp_path):
    env = {**os.environ, "STAGEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    p = subprocess.run([sys.executable, "-m", "stagegate.cli", "tasks", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "run `stagegate init` first" in p.stderr and "Traceback" not in p.stderr


def test_audit_verify_exits_1_naming_the_broken_event(cli, database_url):
    cli("deploy", str(DIAGRAMS))
    engine = create_engine(database_url)
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    engine.dispose()
    p = cli("audit", "verify", ok=False)
    assert p.returncode == 1 and p.stdout.startswith("broken at event 2 (decision_deployed by mallory at ")
    assert "altered" in p.stdout


def test_worker_once_reports_its_pass(cli):
    p = cli("worker", "--once")
    assert p.stdout.strip() == ("fired 0 timers, 0 failed, 0 skipped; timer start events started 0 deals, 0 failed; "
                                "0 events relayed; mail 0 sent, 0 failed, "
                                "0 logged; webhooks 0 delivered, 0 failed, 0 dead")


def test_token_commands_create_once_list_and_revoke(cli, database_url):
    from engine.services.tokens import token_user

    cli("user", "add", "fiona", "--role", "Finance")
    made = cli("token", "create", "--user", "fiona", "--name", "CRM webhook")
    token = made.stdout.strip()
    assert token.startswith("sgt_") and "shown only now" in made.stderr
    listed = json.loads(cli("token", "list", "--user", "fiona", "--json").stdout)
    assert [(t["name"], t["prefix"], t["active"]) for t in listed] == [("CRM webhook", token[:10], True)]
    assert token not in cli("token", "list", "--user", "fiona").stdout
    sg = bootstrap(database_url)
    try:
        assert token_user(sg, token) == "fiona"
        assert cli("token", "revoke", str(listed[0]["id"]), "--user", "fiona").stdout.strip() == \
            f"revoked token {listed[0]['id']}"
        assert token_user(sg, token) is None
    finally:
        sg.dispose()
    missing = cli("token", "revoke", "999", "--user", "fiona", ok=False)
    assert missing.returncode == 1 and "fiona has no API token with id 999" in missing.stderr
    nobody = cli("token", "create", "--user", "ghost", "--name", "x", ok=False)
    assert nobody.returncode == 1 and "no active user named 'ghost'" in nobody.stderr
