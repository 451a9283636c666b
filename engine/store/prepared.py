"""Statements of the step's hot path, compiled once and run with little per-call overhead.

SQLAlchemy spends ~0.06 ms of Python on every execution of even a cached Core statement (the
session's connection lookup, the execution context, the result object), against ~0.01 ms inside
SQLite, and a step runs about 17 of them. On SQLite a Prepared statement runs its compiled SQL on
the DBAPI cursor of the session's own connection (same transaction), converting values with the
very bind and result processors SQLAlchemy would have used for the columns' types, and raising
SQLAlchemy's wrapped errors. A statement needing what only SQLAlchemy's execution does (Python-side
column defaults, post-compile parameters other than an IN list) is run by SQLAlchemy instead, and so
is every statement on PostgreSQL, whose cost is the server round trip, not this.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_CONNECTION = "stagegate.connection"


def connection(s) -> Connection:
    """The session's connection in its current transaction (looked up once per transaction), or the
    connection itself (Stagegate.lone_read)."""
    if isinstance(s, Connection):
        return s
    held = s.info.get(_CONNECTION)
    if held is None or held.closed:
        held = s.info[_CONNECTION] = s.connection()
    return held


class Prepared:
    """One Core statement, compiled once per database kind, for the hot path."""

    def __init__(self, statement, column_keys: tuple[str, ...] | None = None):
        self.statement = statement
        self.column_keys = column_keys  # an INSERT's columns: those every row gives
        self._forms: dict[str, _Form | None] = {}

    def rows(self, s, params: dict | None = None) -> list[dict]:
        """The result rows as dicts by column name."""
        conn = connection(s)
        form = self._form(conn)
        if form is None:
            return [dict(r) for r in conn.execute(self.statement, params or {}).mappings()]
        cur = form.execute(conn, params or {})
        return [form.mapping(r) for r in cur.fetchall()]

    def tuples(self, s, params: dict | None = None) -> list[tuple]:
        """The result rows as tuples."""
        conn = connection(s)
        form = self._form(conn)
        if form is None:
            return [tuple(r) for r in conn.execute(self.statement, params or {})]
        return [form.converted(r) for r in form.execute(conn, params or {}).fetchall()]

    def first(self, s, params: dict | None = None) -> dict | None:
        """The first result row as a dict, or None."""
        found = self.rows(s, params)
        return found[0] if found else None

    def scalar(self, s, params: dict | None = None):
        """The first column of the first row, or None."""
        found = self.tuples(s, params)
        return found[0][0] if found else None

    def run(self, s, params: dict | list[dict]) -> int:
        """Execute with one set of parameters, or many (executemany); returns the rows matched."""
        conn = connection(s)
        form = self._form(conn)
        if form is None:
            return conn.execute(self.statement, params).rowcount
        return form.execute(conn, params).rowcount

    def _form(self, conn: Connection) -> _Form | None:
        dialect = conn.dialect
        try:
            return self._forms[dialect.name]
        except KeyError:
            form = self._forms[dialect.name] = _Form.of(self, dialect) if dialect.name == "sqlite" else None
            return form


class _Form:
    """A statement compiled for SQLite: its SQL, how to order and convert its parameters, and how to
    convert its result columns."""

    def __init__(self, sql, binds, expanding, keys, results, dialect):
        self.sql, self.binds, self.keys, self.results, self.dialect = sql, binds, keys, results, dialect
        self.expanding = expanding  # (the IN list's parameter, its placeholder in the SQL), or None
        self._by_length: dict[int, str] = {}

    @classmethod
    def of(cls, prepared: Prepared, dialect) -> _Form | None:
        """The statement's compiled form, or None when only SQLAlchemy's own execution can run it."""
        compiled = prepared.statement.compile(dialect=dialect, column_keys=prepared.column_keys)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            return None  # Python-side defaults to compute per row
        post = set(getattr(compiled, "post_compile_params", ()) or ())
        expanding = [b for b in post if b.expanding]
        if len(post) != len(expanding) or len(expanding) > 1 or compiled.positiontup is None:
            return None
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            conv = bind.type._cached_bind_processor(dialect)
            if bind.required or bind.expanding:
                binds.append((bind.key, None, conv))  # given by the caller
            else:
                value = bind.effective_value  # a value written into the statement (state == 'ready')
                binds.append((None, conv(value) if conv else value, None))
        columns = getattr(compiled, "_result_columns", None) or []
        keys = tuple(c[0] for c in columns)
        results = tuple(c[3]._cached_result_processor(dialect, None) for c in columns)
        in_list = next(((b.key, f"__[POSTCOMPILE_{name}]") for name, b in compiled.binds.items() if b.expanding), None)
        return cls(compiled.string, binds, in_list, keys, results, dialect)

    def execute(self, conn: Connection, params):
        """Run on the connection's DBAPI cursor; the cursor, for its rows and rowcount."""
        raw = conn.connection.dbapi_connection
        if isinstance(params, list):
            sql, args = self.sql, [self._args(p)[1] for p in params]
            run = raw.executemany
        else:
            sql, args = self._args(params)
            run = raw.execute
        try:
            return run(sql, args)
        except self.dialect.loaded_dbapi.Error as e:
            raise DBAPIError.instance(sql, args, e, self.dialect.loaded_dbapi.Error, dialect=self.dialect) from e

    def _args(self, params: dict) -> tuple[str, list]:
        args = []
        sql = self.sql
        for key, constant, conv in self.binds:
            if key is None:
                args.append(constant)
                continue
            value = params[key]
            if self.expanding is not None and key == self.expanding[0]:
                values = list(value)
                if not values:
                    raise ValueError(f"an empty list for '{key}' (the caller skips the statement)")
                args.extend(map(conv, values) if conv else values)
                sql = self._expanded(len(values))
            else:
                args.append(conv(value) if conv else value)
        return sql, args

    def _expanded(self, n: int) -> str:
        try:
            return self._by_length[n]
        except KeyError:
            text = self.sql.replace(self.expanding[1], ", ".join("?" * n))
            self._by_length[n] = text
            return text

    def converted(self, row: tuple) -> tuple:
        """A result row with each column converted to its Python type."""
        return tuple(v if conv is None or v is None else conv(v) for v, conv in zip(row, self.results))

    def mapping(self, row: tuple) -> dict:
        """A result row as a dict by column name."""
        return dict(zip(self.keys, self.converted(row)))


@cache
def inserting(table, columns: tuple[str, ...]) -> Prepared:
    """INSERT of rows giving `columns` of `table` (built once per table and columns)."""
    return Prepared(insert(table), columns)


def insert_rows(s, table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in one statement."""
    if rows:
        inserting(table, tuple(rows[0])).run(s, rows)
