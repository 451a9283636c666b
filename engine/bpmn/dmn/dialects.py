"""The expression languages of decision cells, each turned into the sandbox's checked Python.

`source(text, dialect)` is the Python the sandbox evaluates for an input expression, an output
entry or a literal expression: Python as written, FEEL translated by engine/bpmn/dmn/feel.py, and the
JUEL translated by engine/bpmn/juel.py (a name, a path or a literal read null-safe). Anything
else is refused with unary_tests.CellRefused saying what to write instead.
"""
from __future__ import annotations

import re

from engine import sandbox
from engine.bpmn import juel
from engine.bpmn.dmn import feel
from engine.bpmn.dmn.unary_tests import CellRefused

#: Languages the engine reads in decision tables.
SUPPORTED = ("python", "feel", "juel")
_JUEL = re.compile(r"^\s*[$#]\{\s*(.*?)\s*\}\s*$", re.S)
_JUEL_TRIVIAL = re.compile(r"^([A-Za-z_]\w*(\.[A-Za-z_]\w*)*|-?\d+(\.\d+)?|'[^'\\]*'|\"[^\"\\]*\"|true|false|null)$")


def unsupported(dialect: str) -> str | None:
    """Why cells in this language cannot be read (None when they can)."""
    if dialect in SUPPORTED:
        return None
    return (f"expression language '{dialect}' is not one the engine reads; write the cell in FEEL "
            "(DMN's default), or declare expressionLanguage=\"python\" and write Python")


def source(text: str | None, dialect: str) -> str:
    """The Python source an expression in `dialect` stands for; CellRefused saying why not."""
    text = (text or "").strip()
    if dialect == "python":
        return text
    if dialect == "feel":
        try:
            return feel.expression(text)
        except feel.FeelRefused as exc:
            raise CellRefused(f"{exc}{_python_hint(text)}") from None
    if dialect == "juel":
        inner = _JUEL.match(text)
        body = inner.group(1) if inner else text
        if _JUEL_TRIVIAL.match(body):  # a name, a path or a literal: null-safe, as Camunda reads a missing one
            return feel.expression(body.replace("'", '"') if body.startswith("'") else body)
        try:
            return juel.translate(text if inner else "${" + text + "}")
        except juel.JuelError as exc:
            raise CellRefused(f"is JUEL the engine cannot run: {exc}") from None
    raise CellRefused(unsupported(dialect))


def with_nulls(python: str, data: dict) -> dict:
    """The data with every name a FEEL translation reads and the data lacks set to null: FEEL (as
    Camunda 7.20's feel-scala) gives null for a variable that does not exist, where Python fails."""
    missing = [n for n in sandbox.names_read(python) if n not in data]
    return {**data, **dict.fromkeys(missing)} if missing else data


def evaluate_in(evaluate, text: str | None, dialect: str, data: dict):
    """The value of an expression written in `dialect`, through `evaluate` (the sandbox's)."""
    python = source(text, dialect)
    return evaluate(python, with_nulls(python, data) if dialect == "feel" else data)


def _python_hint(text: str) -> str:
    """A hint for Python written where FEEL is read (a table that declares no language)."""
    if re.search(r"\[\s*['\"]|==|\.get\(|\bNone\b|\bTrue\b|\bFalse\b|\band\b.*\bnot\b", text):
        return ("; cells without an expressionLanguage are FEEL (DMN's default): write FEEL (`item.x`, `=`, "
                "`null`, `true`), or declare expressionLanguage=\"python\" on the definitions to keep Python")
    return ""
