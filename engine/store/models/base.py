"""The declarative base and the column types the tables share (big ids, JSON text columns)."""
from __future__ import annotations


from sqlalchemy import (
    BigInteger,
    Integer,
    String,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.expression import ColumnElement


class Base(DeclarativeBase):
    pass


# SQLite only autoincrements INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class JsonText(ColumnElement):
    """SQL for a top-level text value of a JSON column of the same row, e.g. details.on_behalf_of,
    in each database's own syntax: what a generated column is computed from."""

    inherit_cache = True
    type = String()

    def __init__(self, column: str, key: str):
        self.column, self.key = column, key


@compiles(JsonText)
def _json_text_sqlite(element, compiler, **kw):
    return f"json_extract({element.column}, '$.{element.key}')"


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element, compiler, **kw):
    return f"({element.column} ->> '{element.key}')"
