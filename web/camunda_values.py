"""Camunda 7's typed variables on the wire: {"value": ..., "type": "String", "valueInfo": {}} in and out.

Deal data are plain JSON values, so a Json or Object (application/json) variable is stored as
the JSON value it carries, a Date as ISO 8601 text; a variable sent without a type (the Python
client sends {"value": ...}) keeps its JSON value, a dict or list being stored as Json.
"""
from __future__ import annotations

import json
from datetime import datetime

from engine.limits import InputRefused, parse_json, strings_in, unstorable

INT_MIN, INT_MAX = -2**31, 2**31 - 1
LONG_MIN, LONG_MAX = -2**63, 2**63 - 1


class VariableRefused(ValueError):
    """A variable cannot be taken as sent; the message names it and says what to send."""


def typed(value) -> dict:
    """A deal value as Camunda's typed value."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        return {"type": "Integer" if INT_MIN <= value <= INT_MAX else "Long", "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, (dict, list)):
        return {"type": "Json", "value": json.dumps(value), "valueInfo": {}}
    return {"type": "String", "value": str(value), "valueInfo": {}}


def typed_all(data: dict) -> dict:
    return {name: typed(value) for name, value in data.items()}


def _whole(name, value, low, high, kind):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise VariableRefused(f"variable '{name}' of type {kind} needs a whole number from {low} to {high}")
    return value


def _json_text(name, value, kind):
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise VariableRefused(f"variable '{name}' of type {kind} needs its JSON as a string value")
    try:
        return parse_json(value, f"variable '{name}'")
    except InputRefused as exc:
        raise VariableRefused(str(exc)) from None


def _date(name, value):
    if not isinstance(value, str):
        raise VariableRefused(f"variable '{name}' of type Date needs text such as 2026-12-01T09:30:00.000+0000")
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():  # Camunda writes +0000, ISO wants +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise VariableRefused(f"variable '{name}': '{value}' is not a date and time "
                              "(send e.g. 2026-12-01T09:30:00.000+0000)") from None


def plain_value(name: str, variable) -> object:
    """The deal value for one typed variable from a request; VariableRefused when it cannot be taken."""
    if not isinstance(variable, dict) or "value" not in variable and variable.get("type") not in ("Null", "null"):
        raise VariableRefused(f"variable '{name}' must be an object such as {{\"value\": 42, \"type\": \"Integer\"}}")
    value, kind = variable.get("value"), variable.get("type")
    if kind is None:
        return value  # untyped: its JSON value as sent
    if not isinstance(kind, str):
        raise VariableRefused(f"variable '{name}': type must be text such as \"String\"")
    k = kind.lower()
    if value is None and k != "object":
        return None
    if k == "string":
        if not isinstance(value, str):
            raise VariableRefused(f"variable '{name}' of type String needs a text value")
        return value
    if k in ("integer", "short"):
        low, high = (INT_MIN, INT_MAX) if k == "integer" else (-2**15, 2**15 - 1)
        return _whole(name, value, low, high, kind)
    if k == "long":
        return _whole(name, value, LONG_MIN, LONG_MAX, kind)
    if k == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VariableRefused(f"variable '{name}' of type Double needs a number")
        return float(value)
    if k == "boolean":
        if not isinstance(value, bool):
            raise VariableRefused(f"variable '{name}' of type Boolean needs true or false")
        return value
    if k == "json":
        return _json_text(name, value, kind)
    if k == "object":
        fmt = (variable.get("valueInfo") or {}).get("serializationDataFormat")
        if fmt != "application/json":
            raise VariableRefused(f"variable '{name}' of type Object is serialized as {fmt or 'an unnamed format'}: "
                                  "only application/json can be read here; send it as type Json")
        return _json_text(name, value, kind)
    if k == "date":
        return _date(name, value)
    if k == "null":
        return None
    raise VariableRefused(f"variable '{name}' has type {kind}, which Stagegate does not store (deal data are "
                          "String, Integer, Long, Short, Double, Boolean, Date, Json, Object as JSON, or Null)")


def plain_values(variables, what: str = "variables") -> dict:
    """Deal data from a request's typed variables (None or missing: none)."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise VariableRefused(f"'{what}' must be an object of variable name to {{\"value\": ..., \"type\": ...}}")
    out = {}
    for name, variable in variables.items():
        if not name or len(name) > 255 or unstorable(name):
            raise VariableRefused(f"a variable name must be 1 to 255 characters of text (not {name[:40]!r})")
        out[name] = _storable(name, plain_value(name, variable))
    return out


def _storable(name: str, value):
    """The value, unless some text in it cannot be stored (a NUL, a lone surrogate)."""
    for text in strings_in(value):
        bad = unstorable(text)
        if bad:
            raise VariableRefused(f"variable '{name}' holds {bad}, which cannot be stored")
    return value
