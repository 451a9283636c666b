"""Database connection and the unit of work: roll back by default, commit in one place."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = "stagegate.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: explicit, else STAGEGATE_DATABASE_URL, else a SQLite file here."""
    return url or os.environ.get("STAGEGATE_DATABASE_URL") or f"sqlite:///{Path(DEFAULT_SQLITE_PATH).resolve()}"


def owner_database_url(url: str | None = None) -> str | None:
    """The URL migrations run with when the app's own role may not change the schema (PostgreSQL):
    explicit, else STAGEGATE_OWNER_DATABASE_URL, else None (the app's URL is used)."""
    return url or os.environ.get("STAGEGATE_OWNER_DATABASE_URL") or None


def make_engine(url: str) -> Engine:
    """An engine tuned for our use: WAL and explicit BEGIN on SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock
    # up front; we issue BEGIN ourselves so a writing use case can start IMMEDIATE and
    # never fail half-way with "database is locked" when another writer got in first.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("stagegate_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UnitOfWork:
    """One use case's transaction. Leaving the block without commit() rolls back."""

    def __init__(self, session_factory: sessionmaker, write: bool = True):
        self._session_factory = session_factory
        self._write = write
        self.session: Session

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        # Procure the connection now so the transaction starts with the right mode.
        self.session.connection(execution_options={"stagegate_write": self._write})
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
