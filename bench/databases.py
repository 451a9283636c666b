"""Scratch databases for the tests and the benchmarks: a SQLite file, or a PostgreSQL schema of
its own that is dropped afterwards, so runs never see each other's rows."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, text


def unreachable(pg_url: str) -> str | None:
    """None if the PostgreSQL server at `pg_url` answers, else the first line of why not."""
    try:
        eng = create_engine(pg_url, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the answer
        return str(exc).splitlines()[0]


def backends(pg_url: str) -> list[str]:
    """The backends a benchmark runs on: SQLite, and PostgreSQL when its server answers (else it says why not)."""
    why = unreachable(pg_url)
    if why is not None:
        print(f"PostgreSQL skipped: {why}")
    return ["sqlite"] if why else ["sqlite", "postgres"]


@contextmanager
def scratch_database(backend: str, folder, pg_url: str, prefix: str):
    """The URL of an empty database: a new SQLite file in `folder`, or a new schema on `pg_url`."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{prefix}_{uuid.uuid4().hex[:8]}.db"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
