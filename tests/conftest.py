"""Fixtures are factories: a fresh Stagegate on a real database, users, the shipped catalog.

Every test that takes `sg` runs twice: on a SQLite file and on the PostgreSQL server
(STAGEGATE_TEST_POSTGRES_URL, default the machine's 127.0.0.1:5432/test). The PostgreSQL
run is skipped, with the reason shown, only when no server answers.
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_mock_engine

from bench.databases import scratch_database, unreachable
from engine import passwords
from stagegate.compose import bootstrap
from engine.clock import FrozenClock
from workflows.demo import DEMO_USERS
from engine.services.deployment import collect_files, deploy
from engine.store.models import Base
from engine.services.users import add_user

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
LOOP_BENCH = ROOT / "bench" / "revision_loop.bpmn"  # the loop benchmark's diagram, not in the shipped catalog
SHARED = ROOT.parent / "shared"
# Every Stagegate the tests build (and the servers and CLI processes they start) signs its audit
# chain with this run's key, never with instance/audit_key; tests of the key itself set their own.
os.environ["STAGEGATE_AUDIT_KEY"] = secrets.token_hex(32)
os.environ.pop("STAGEGATE_AUDIT_KEY_FILE", None)
os.environ.pop("STAGEGATE_OWNER_DATABASE_URL", None)
os.environ.pop("STAGEGATE_AUDIT_CHECKPOINTS", None)
# Passwords hashed in the test process cost 1/16 of the real scrypt (hundreds of sign-ins would take
# a quarter of the web tests' time); the CLI and servers the tests start hash at the real cost
# (tests/test_cli.py checks it), and the sign-in timing test restores it.
REAL_SCRYPT_N = passwords.SCRYPT_N
passwords.SCRYPT_N = 2**10

PG_URL = os.environ.get("STAGEGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

STAFF = DEMO_USERS  # the same cast as the demo database

_pg_state: dict = {}


def postgres_available() -> str | None:
    """None if the server answers, else why not."""
    if "reason" not in _pg_state:
        why = unreachable(PG_URL)
        _pg_state["reason"] = None if why is None else f"PostgreSQL at {PG_URL} is not reachable: {why}"
    return _pg_state["reason"]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    if request.param == "postgres":
        reason = postgres_available()
        if reason:
            pytest.skip(reason)
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    """A URL to an empty database of the chosen backend, dropped afterwards."""
    with scratch_database(backend, tmp_path, PG_URL, "t") as url:
        yield url


def create_tables(engine) -> None:
    """Base.metadata.create_all; on PostgreSQL as one batch of the same DDL, compiled once per process,
    because create_all's ~90 round trips made up half of every PostgreSQL test's set-up."""
    if engine.dialect.name != "postgresql" or _has_tables(engine):
        Base.metadata.create_all(engine)  # adds only what is missing, e.g. after `stagegate init`
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(_postgres_ddl())


@cache
def _postgres_ddl() -> str:
    statements = []

    def record(ddl, *_args, **_kwargs):
        statements.append(str(ddl.compile(dialect=mock.dialect)))

    mock = create_mock_engine("postgresql+psycopg://", record)
    Base.metadata.create_all(mock, checkfirst=False)  # the audit table's trigger DDL (after_create) included
    return ";\n".join(statements)


def _has_tables(engine) -> bool:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT to_regclass('users') IS NOT NULL").scalar()


@pytest.fixture
def make_sg(database_url):
    """Factory: a Stagegate on the test database (schema created once per database)."""
    made = []

    def make(clock=None, migrate=False):
        sg = bootstrap(database_url, clock=clock or FrozenClock(), migrate=migrate)
        if not made and not migrate:
            create_tables(sg.engine)
        made.append(sg)
        return sg

    yield make
    for sg in made:
        sg.dispose()


@pytest.fixture
def sg(make_sg):
    return make_sg()


@pytest.fixture
def staff(sg):
    """Factory: create the standard cast of users (one or more per role)."""
    def make(users=None):
        for name, roles in (users or STAFF).items():
            add_user(sg, name, roles, actor="cli:test")
        return sorted((users or STAFF))
    return make


@pytest.fixture
def catalog(sg, staff):
    """The shipped diagrams deployed, and the standard users."""
    staff()
    return deploy(sg, collect_files([DIAGRAMS]), actor="cli:test")


@pytest.fixture
def revision_loop(sg, catalog):
    """The catalog plus the loop benchmark's quote revision loop (Sales drafts, Finance reviews)."""
    return deploy(sg, collect_files([LOOP_BENCH]), actor="cli:test")


DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """A SQLite file holding the demo (engine.demo.load_demo at DEMO_NOW), built once per session
    because it takes half a minute. Tests that write must work on a copy."""
    from workflows.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    made = []

    def factory(clock):
        sg = bootstrap(f"sqlite:///{path}", clock=clock)
        if not made:
            create_tables(sg.engine)
        made.append(sg)
        return sg

    load_demo(factory, now=DEMO_NOW)
    for sg in made:
        sg.dispose()  # closes the connections, so the file holds everything (no WAL left behind)
    return path
