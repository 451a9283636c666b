"""Database connection and the unit of work: roll back by default, commit in one place."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
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
            cur.execute("PRAGMA wal_autocheckpoint=0")  # a background thread checkpoints (engine/store/checkpoints.py)
            cur.execute("PRAGMA journal_size_limit=16777216")  # a started-over log is cut back to 16 MiB
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("stagegate_write") else "BEGIN"
        # On the driver's connection: SQLAlchemy's own execution of it cost ~12 µs a transaction.
        try:
            conn.connection.driver_connection.execute(sql)
        except sqlite3.Error as e:
            raise DBAPIError.instance(sql, (), e, sqlite3.Error, dialect=conn.dialect) from e


class WriterQueue:
    """The writing use cases of every process on one SQLite file, queued on an OS file lock taken
    before BEGIN IMMEDIATE.

    SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps 1, 2,
    5, 10... ms between tries, so a second web worker made completions slower, not faster. A
    writer blocked on flock() is woken by the kernel the moment the lock is released. SQLite's own
    locking still decides what is correct; this only orders the waiting. Reentrant per thread (an
    incident is written from inside the failed step's block), and each thread and process uses its
    own open file, as flock() locks are shared by a file's duplicates (a forked worker's included).
    """

    def __init__(self, database_path: str):
        self.path = f"{database_path}-writers.lock"
        self._local = threading.local()

    def __enter__(self) -> None:
        self._enter(fcntl.LOCK_EX)

    def enter_if_free(self) -> bool:
        """Take a place at once if no one else holds the queue (True), else leave it (False)."""
        try:
            self._enter(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _enter(self, how: int) -> None:
        here = self._local
        if getattr(here, "pid", None) != os.getpid():
            here.pid, here.fd, here.depth = os.getpid(), os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), 0
        if here.depth == 0:
            fcntl.flock(here.fd, how)
        here.depth += 1

    def __exit__(self, *exc) -> None:
        here = self._local
        here.depth -= 1
        if here.depth == 0:
            fcntl.flock(here.fd, fcntl.LOCK_UN)


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of the SQLite file the engine writes to; None for a server database or memory."""
    db = engine.url.database
    return WriterQueue(db) if engine.dialect.name == "sqlite" and db not in (None, "", ":memory:") else None


_TAKE_WRITE_LOCK = "UPDATE instances SET id = id WHERE 0"


class UnitOfWork:
    """One use case's transaction. Leaving the block without commit() rolls back."""

    def __init__(self, session_factory: sessionmaker, write: bool = True, writers: WriterQueue | None = None,
                 checkpoints=None):
        self._session_factory = session_factory
        self._write = write
        self._queue, self._checkpoints = writers, checkpoints
        self._held: WriterQueue | None = None  # the queue, while this unit holds its place in it
        self.session: Session

    def __enter__(self) -> "UnitOfWork":
        if self._write and self._queue is not None:
            self._queue.__enter__()
            self._held = self._queue
        try:
            self.session = self._session_factory()
            # Procure the connection now so the transaction starts with the right mode.
            self.session.connection(execution_options={"stagegate_write": self._write})
        except BaseException:
            self._leave_queue()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session.rollback()
            self.session.close()
        finally:
            self._leave_queue()

    def _leave_queue(self) -> None:
        if self._held is not None:
            self._held.__exit__()
            self._held = None

    def upgrade(self) -> bool:
        """Make this reading unit the writing one, when no one is writing and no one has committed since
        its snapshot was taken: what it read is then what a writer would read now. False, and still
        reading, otherwise (and on a server database or in memory: there is no one writer to queue for)."""
        # Never wait in the queue holding a snapshot: a writer in it commits first, which makes the
        # snapshot stale anyway, and the checkpointer's log restart waits in it for readers to finish.
        if self._write or self._queue is None or not self._queue.enter_if_free():
            return False
        self._held = self._queue
        try:
            # A write that changes no row takes SQLite's write lock, or fails at once with
            # SQLITE_BUSY_SNAPSHOT when the snapshot this transaction reads is no longer the newest.
            self.session.connection().connection.driver_connection.execute(_TAKE_WRITE_LOCK)
        except sqlite3.OperationalError:
            self._leave_queue()
            return False
        self._write = True
        return True

    def commit(self) -> None:
        self.session.commit()
        if self._write and self._checkpoints is not None:
            self._checkpoints.wrote()
