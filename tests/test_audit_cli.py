"""The audit key and checkpoints as an operator meets them: `stagegate init`, `audit verify`,
`audit checkpoint`, `audit rotate-key`, on SQLite and PostgreSQL, each command a real process
(the events in between are written through the services, with the same key file)."""
import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from engine.audit import GENESIS, link_hash
from engine.audit.keys import read_key_file
from stagegate.compose import bootstrap
from engine.services.users import add_user
from engine.store.models import AuditEvent
from engine.store.schema import alembic_config
from tests.conftest import ROOT
from tests.tamper import cut_tail, relink_plainly, tamper


@pytest.fixture
def key_file(tmp_path):
    return tmp_path / "instance" / "audit_key"


@pytest.fixture
def run(database_url, key_file):
    """`stagegate ARGS...` with the key in a file of the test's own (not in the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "STAGEGATE_AUDIT_KEY"}
    env.update(STAGEGATE_DATABASE_URL=database_url, STAGEGATE_AUDIT_KEY_FILE=str(key_file))

    def stagegate(*args, ok=True):
        p = subprocess.run([sys.executable, "-m", "stagegate.cli", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
        assert "Traceback" not in p.stdout + p.stderr, p.stderr
        assert (p.returncode == 0) == ok, p.stdout + p.stderr
        return p
    return stagegate


@pytest.fixture
def engine(database_url):
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def events(database_url, key_file):
    """Factory: write `count` audit events (a new user each) signed with the key file's keys."""
    made = iter(range(1000))

    def write(count=6):
        sg = bootstrap(database_url, audit_keys=read_key_file(key_file))
        for _ in range(count):
            add_user(sg, f"user{next(made)}", ["Sales"], "cli:test")
        sg.dispose()
    return write


def test_init_makes_the_key_file_once_and_the_chain_is_signed_with_it(run, events, key_file):
    assert not key_file.exists()
    run("init")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    run("init")
    assert key_file.read_text() == first, "init keeps the key it made"
    events(3)
    assert run("audit", "verify").stdout.strip() == "ok 3 events"


def test_without_its_key_the_database_is_neither_used_nor_given_a_new_key(run, events, key_file):
    run("init")
    events(2)
    key_file.unlink()
    p = run("user", "list", ok=False)
    assert "error: no audit key" in p.stderr and "restore the key file from your backup" in p.stderr
    p = run("init", ok=False)
    assert "signed with audit key" in p.stderr and "a new key would not verify it" in p.stderr
    assert not key_file.exists(), "init did not make a key the chain is not signed with"


def test_an_edited_event_with_every_plain_hash_recomputed_fails_verify(run, events, engine):
    run("init")
    events()
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    relink_plainly(engine, 3)
    p = run("audit", "verify", ok=False)
    assert p.stdout.startswith("broken at event 3 (user_created by mallory at ")
    assert "the event was altered" in p.stdout and "(2 events verified before it)" in p.stdout


def test_a_cut_tail_with_the_head_moved_back_is_caught_by_a_checkpoint(run, events, engine, tmp_path):
    run("init")
    events()
    kept = tmp_path / "checkpoints.log"
    printed = run("audit", "checkpoint", "--append", str(kept)).stdout.strip()
    cp = json.loads(printed)
    assert (cp["events"], cp["seq"]) == (6, 6) and len(cp["head"]) == 64 and cp["at"] and cp["signature"]
    assert kept.read_text() == printed + "\n"
    cut_tail(engine, 2)
    assert run("audit", "verify").stdout.strip() == "ok 4 events", "without a checkpoint a cut tail is invisible"
    p = run("audit", "verify", "--checkpoint", str(kept), ok=False)
    assert p.stdout.startswith(f"broken at event 5: the checkpoint of {cp['at']} recorded 6 events, the chain has "
                               "only 4: events 5 to 6 were cut")


def test_a_tail_cut_and_written_again_is_caught_at_the_checkpointed_event(run, events, engine, tmp_path):
    run("init")
    events(4)
    kept = tmp_path / "checkpoints.log"
    run("audit", "checkpoint", "--append", str(kept))
    events(2)
    run("audit", "checkpoint", "--append", str(kept))
    cut_tail(engine, 3)
    events(2)  # the app signs new events: the chain links again
    assert run("audit", "verify").stdout.startswith("ok 5 events")
    p = run("audit", "verify", "--checkpoint", str(kept), ok=False)
    assert p.stdout.startswith("broken at event 4 (user_created by cli:test at ") and \
        "it is not the event the checkpoint of" in p.stdout


def test_verify_reports_the_checkpoints_that_hold(run, events, tmp_path):
    run("init")
    kept = tmp_path / "checkpoints.log"
    events(2)
    run("audit", "checkpoint", "--append", str(kept))
    events(2)
    newest = json.loads(run("audit", "checkpoint", "--append", str(kept)).stdout)
    events(1)
    out = run("audit", "verify", "--checkpoint", str(kept)).stdout.strip()
    assert out == f"ok 5 events; 2 checkpoints hold, the newest of {newest['at']} at event 4"


def test_an_altered_checkpoint_file_is_refused(run, events, tmp_path):
    run("init")
    events(3)
    kept = tmp_path / "checkpoints.log"
    run("audit", "checkpoint", "--append", str(kept))
    cp = json.loads(kept.read_text())
    kept.write_text(json.dumps({**cp, "events": 2, "seq": 2}) + "\n")
    p = run("audit", "verify", "--checkpoint", str(kept), ok=False)
    assert f"{kept}, line 1: its signature does not match (the checkpoint was altered)" in p.stderr
    kept.write_text("not a checkpoint\n")
    assert "line 1: not a checkpoint" in run("audit", "verify", "--checkpoint", str(kept), ok=False).stderr


def test_no_checkpoint_is_made_of_a_broken_chain(run, events, engine, tmp_path):
    run("init")
    events(3)
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    kept = tmp_path / "checkpoints.log"
    p = run("audit", "checkpoint", "--append", str(kept), ok=False)
    assert p.stdout.startswith("broken at event 2") and not kept.exists()


def test_rotating_the_key_keeps_old_events_verifiable_and_needs_the_old_key(run, events, key_file, engine):
    run("init")
    events(3)
    out = run("audit", "rotate-key").stdout
    assert "signed with audit key" in out and "from now on" in out
    keys = [line for line in key_file.read_text().splitlines() if line and not line.startswith("#")]
    assert len(keys) == 2
    events(2)
    assert run("audit", "verify").stdout.strip() == "ok 6 events"
    with engine.connect() as conn:
        marker = conn.execute(text("SELECT seq, kind FROM audit_events WHERE seq = 4")).one()
    assert tuple(marker) == (4, "audit_keyed")
    key_file.write_text(keys[1] + "\n")  # the old key lost
    p = run("audit", "verify", ok=False)
    assert p.stdout.startswith("broken at event 1") and "signed with an audit key that" in p.stdout


def _legacy_database(url: str, events: int) -> None:
    """A database as it was before the chain was keyed: migrated to 0011, events linked with plain SHA-256."""
    eng = create_engine(url)
    with eng.begin() as conn:
        cfg = alembic_config(eng)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011_open_task_counts")
        prev = GENESIS
        for seq in range(1, events + 1):
            row = {"seq": seq, "at": datetime(2026, 1, seq, tzinfo=timezone.utc), "actor": "cli:old",
                   "kind": "user_created", "instance_id": None, "process_id": None, "version": None,
                   "element_id": None, "details": {"user": f"u{seq}", "roles": ["sales"]}}
            digest = link_hash(None, prev, row)
            conn.execute(AuditEvent.__table__.insert().values(**row, prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :n, :h)"), {"n": events, "h": prev})
    eng.dispose()


def test_a_chain_from_before_keys_is_sealed_by_the_upgrade_and_then_cannot_be_rewritten(run, events, database_url, engine):
    _legacy_database(database_url, 5)
    run("init")
    out = run("audit", "verify").stdout.strip()
    assert out == ("ok 6 events (events 1 to 5 were linked before the chain was keyed and are sealed by the "
                   "keyed event 6)")
    events(1)
    assert run("audit", "verify").stdout.startswith("ok 7 events (events 1 to 5")
    # An old event rewritten and the old links recomputed (up to the seal) no longer goes unseen.
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    relink_plainly(engine, 2, upto=5)
    p = run("audit", "verify", ok=False)
    assert p.stdout.startswith("broken at event 6 (audit_keyed by engine at ") and "altered" in p.stdout
