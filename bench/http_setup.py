"""Databases for bench.http: scratch databases; the deals at their sign-offs, made in bulk through the
service layer once per backend and copied for each run (a SQLite file through the backup API, a
PostgreSQL schema row by row into a freshly migrated one); the users and deals of the start and
memory runs."""
from __future__ import annotations

import os
import sqlite3
import urllib.parse
from contextlib import contextmanager

from sqlalchemy import create_engine, select, text

from bench import scale
from bench.common import REVISION_BPMN
from bench.databases import scratch_database, unreachable
from engine.services.deployment import collect_files, deploy
from engine.services.instances import complete_task, start_instance
from engine.services.tokens import create_token
from engine.services.users import add_user
from engine.store.models import Base, HumanTask
from stagegate.compose import bootstrap
from workflows import erp_pricing

PG_URL = os.environ.get("STAGEGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LOOP = "revision_loop"
DRAFT = {"revision_note": "another pass"}
REVIEW = {"approved": False}  # the loop goes back to Draft: a deal takes completions for ever


def database(backend: str, tmp: str):
    """A fresh empty database URL of the backend (a context manager)."""
    return scratch_database(backend, tmp, PG_URL, "bench")


def pg_available() -> str | None:
    """None if the benchmark's PostgreSQL answers, else why not."""
    return unreachable(PG_URL)


# -- one set-up, many copies ----------------------------------------------------------------------

@contextmanager
def copy_of(backend: str, tmp: str, template: str):
    """A new scratch database holding what the database at `template` holds."""
    with database(backend, tmp) as url:
        (_copy_sqlite if backend == "sqlite" else _copy_postgres)(template, url)
        yield url


def _sqlite_path(url: str) -> str:
    """The file of a sqlite:/// URL."""
    return url.removeprefix("sqlite:///")


def _copy_sqlite(src: str, dst: str) -> None:
    """SQLite's online backup: the pages of the file and of its write-ahead log."""
    with sqlite3.connect(_sqlite_path(src)) as a, sqlite3.connect(_sqlite_path(dst)) as b:
        a.backup(b)
    a.close()
    b.close()


def _schema(url: str) -> str:
    """The schema a scratch PostgreSQL URL puts first on its search path."""
    options = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["options"][0]
    return options.split("search_path=", 1)[1]


def _copy_postgres(src: str, dst: str) -> None:
    """Migrate the new schema, then copy every table's rows (parents first) and move the sequences on."""
    bootstrap(dst, migrate=True).dispose()
    a, b = _schema(src), _schema(dst)
    order = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            tables = sorted(conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                                              "AND table_type = 'BASE TABLE'"), {"s": a}).scalars(),
                            key=lambda t: (order.get(t, len(order)), t))
            for table in tables:
                _copy_table(conn, a, b, table)
            _advance_sequences(conn, b)
    finally:
        admin.dispose()


def _copy_table(conn, a: str, b: str, table: str) -> None:
    """The rows of a.table into b.table, but for its generated columns (and rows the migration put there)."""
    cols = ", ".join(f'"{c}"' for c in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
        "AND is_generated = 'NEVER' ORDER BY ordinal_position"), {"s": a, "t": table}).scalars())
    conn.execute(text(f'INSERT INTO "{b}"."{table}" ({cols}) SELECT {cols} FROM "{a}"."{table}" ON CONFLICT DO NOTHING'))


def _advance_sequences(conn, schema: str) -> None:
    """Every serial or identity column's sequence past the largest id copied."""
    owned = conn.execute(text(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :s "
        "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"), {"s": schema}).all()
    for table, column in owned:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{schema}\".\"{table}\"', '{column}'), "
                          f'(SELECT coalesce(max("{column}"), 0) + 1 FROM "{schema}"."{table}"), false)'))


# -- the start and memory runs -------------------------------------------------------------------

def loop_users(url: str, clients: int) -> dict[str, str]:
    """A migrated database with the revision loop deployed and `clients` users who may start and work
    it (Sales drafts, Finance reviews); returns {user: API token}."""
    sg = bootstrap(url, migrate=True)
    try:
        deploy(sg, collect_files([REVISION_BPMN]), "cli:bench")
        tokens = {}
        for i in range(clients):
            name = f"looper{i:02d}"
            add_user(sg, name, ["Sales", "Finance"], "cli:bench")
            tokens[name] = create_token(sg, name, name, "bench client")["token"]
        return tokens
    finally:
        sg.dispose()


def loop_deals(url: str, users: list[str], per_user: int) -> dict[str, list[tuple[str, str]]]:
    """`per_user` revision-loop deals started by each user; returns {user: [(ready task id, element)]}."""
    sg = bootstrap(url)
    try:
        return {u: [(start_instance(sg, LOOP, u, {})["ready_tasks"][0]["id"], "Task_Draft") for _ in range(per_user)]
                for u in users}
    finally:
        sg.dispose()


def sign_off_template(url: str, deals: int, clients: int) -> tuple[dict[str, str], dict[str, str]]:
    """What scale.sign_off_deals makes, in bulk: every deal through discovery, its gate and the proposal,
    then the ERP stand-in prices all proposals at once. Returns {sign-off task id: its element} and
    {user: API token}; made once per backend, to be copied for each run."""
    _, tokens = scale.sign_off_deals(url, deals=0, racers=clients)  # the catalog, sam, lena, the racers' tokens
    sg = bootstrap(url)
    try:
        for _ in range(deals):
            ready = start_instance(sg, "opportunity", "sam", scale.PROSPECT)["ready_tasks"]
            for element, user, data in (("Task_Discovery", "sam", scale.DISCOVERY),
                                        ("Task_DiscoveryGateReview", "lena", scale.DISCOVERY_GO),
                                        ("Task_PrepareProposal", "sam", scale.PROPOSAL)):
                task = next(t for t in ready if t["element_id"] == element)
                ready = complete_task(sg, task["id"], user, data)["opened"]
        erp_pricing.serve_pending(sg)  # the sign-offs open
        with sg.uow(write=False) as uow:
            tasks = dict(uow.session.execute(select(HumanTask.id, HumanTask.element_id).where(
                HumanTask.state == "ready", HumanTask.element_id.in_(scale.SIGN_OFFS))
                .order_by(HumanTask.instance_id, HumanTask.element_id)).all())  # a deal's three together, as before
    finally:
        sg.dispose()
    return tasks, tokens
