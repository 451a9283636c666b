"""Check and coerce submitted values against a diagram's camunda:formData fields."""
from __future__ import annotations

import math
import re
from datetime import date, datetime

from engine import limits, sandbox
from engine.errors import FormInvalid

# The field types the engine checks and stores: Camunda 7's built-in ones (string, long,
# boolean, date, enum) and double, which Camunda 7 users add as a custom type. Any other
# type is refused at deploy (validation.py), never read as text. A file field (our own type) holds
# the id of an attachment on the deal (engine/services/attachments.py; the web form uploads it first).
FIELD_TYPES = ("string", "long", "double", "boolean", "date", "enum", "file")
# What people type for a number: digits with optional thousands commas in the right places
# ("1,200" but never "1,2", which in much of the world means 1.2), and for a double a
# decimal point and an exponent.
_INT = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3}){1,6}|\d{1,19})$")  # a long has at most 19 digits
_DECIMAL = re.compile(r"^[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
MAX_NUMBER_TEXT = 100  # characters; a longer "number" is a paste gone wrong


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _to_long(value):
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and len(value) <= MAX_NUMBER_TEXT and _INT.match(value.strip()):
        n = int(value.strip().replace(",", ""))
    else:
        raise ValueError("must be a whole number")
    if not LONG_MIN <= n <= LONG_MAX:
        raise ValueError("is out of range")
    return n


_NOT_A_NUMBER = "must be a number (e.g. 1200.50 or 1,200.50)"


def _to_double(value):
    if isinstance(value, bool):
        raise ValueError(_NOT_A_NUMBER)
    if isinstance(value, int):
        if not LONG_MIN <= value <= LONG_MAX:
            raise ValueError("is out of range")
        n = float(value)
    elif isinstance(value, float):
        n = value
    elif isinstance(value, str) and len(value) <= MAX_NUMBER_TEXT and _DECIMAL.match(value.strip()):
        n = float(value.strip().replace(",", ""))
    else:
        raise ValueError(_NOT_A_NUMBER)
    if not math.isfinite(n):  # JSON has no infinity or NaN, and no comparison makes sense on them
        raise ValueError("is out of range")
    return n


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError("must be true or false")


def _to_date(value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
    raise ValueError("must be a date (YYYY-MM-DD)")


def _to_string(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("must be text")
    bad = limits.unstorable(str(value))
    if bad:
        raise ValueError(f"holds {bad}")
    return str(value)


def _coerce(field: dict, value):
    kind = field.get("type") or "string"
    if kind == "long":
        return _to_long(value)
    if kind == "double":
        return _to_double(value)
    if kind == "boolean":
        return _to_bool(value)
    if kind == "date":
        return _to_date(value)
    if kind == "file":
        digits = not isinstance(value, str) or value.strip().isascii() and value.strip().isdigit()
        n = _to_long(value) if digits else None
        if n is None or n < 1:
            raise ValueError("must be an uploaded file (an attachment id)")
        return n
    if kind == "enum":
        ids = [o["id"] for o in field.get("options", [])]
        if not isinstance(value, str) or value not in ids:
            raise ValueError(f"must be one of: {', '.join(ids)}")
        return value
    return _to_string(value)


# The built-in constraints of Camunda 7's forms; Camunda refuses any other name at deploy, and its
# `validator` names a Java class or a bean expression.
CONSTRAINTS = ("required", "readonly", "minlength", "maxlength", "min", "max")


def _constraint_problem(name, config) -> str:
    instead = f"use {', '.join(CONSTRAINTS)}, or check the value in a Python script task after the form"
    if name == "validator":
        return (f"constraint validator `{config}` is a Java validator (a class or a bean expression), which the "
                f"engine does not run: {instead}")
    return f"constraint '{name}' is not one Camunda forms know: {instead}"


def definition_problems(field: dict) -> list[str]:
    """Why a form field as the diagram declares it cannot be honoured (checked at deploy)."""
    kind = field.get("type") or "string"
    if kind not in FIELD_TYPES:
        return [f"has type '{kind}', which the engine does not know; known types: {', '.join(FIELD_TYPES)}"]
    problems = []
    if kind == "enum" and not field.get("options"):
        return ["is an enum without values (add camunda:value elements)"]
    c = field.get("constraints") or {}
    problems += [_constraint_problem(name, c[name]) for name in c if name not in CONSTRAINTS]
    bounds = {"long": _to_long, "double": _to_double, "date": _to_date}
    for name in ("min", "max"):
        if c.get(name) not in (None, "") and kind in bounds:
            try:
                bounds[kind](c[name])
            except ValueError as exc:
                problems.append(f"constraint {name}='{c[name]}' {exc}")
    for name in ("minlength", "maxlength"):
        if c.get(name) not in (None, "") and not _INT.match(str(c[name]).strip()):
            problems.append(f"constraint {name}='{c[name]}' must be a whole number")
    if field.get("default") not in (None, ""):
        try:
            _coerce(field, field["default"])
        except ValueError as exc:
            problems.append(f"default value '{field['default']}' {exc}")
    return problems


def _check_constraints(field: dict, value) -> str | None:
    c = field.get("constraints", {})
    kind = field.get("type") or "string"
    try:
        if kind in ("long", "double"):
            bound = _to_long if kind == "long" else _to_double
            if c.get("min") not in (None, "") and value < bound(c["min"]):
                return f"must be at least {c['min']}"
            if c.get("max") not in (None, "") and value > bound(c["max"]):
                return f"must be at most {c['max']}"
        if kind == "date":
            if c.get("min") and value < _to_date(c["min"]):
                return f"must be on or after {_to_date(c['min'])}"
            if c.get("max") and value > _to_date(c["max"]):
                return f"must be on or before {_to_date(c['max'])}"
        if isinstance(value, str):
            if c.get("minlength") not in (None, "") and len(value) < int(c["minlength"]):
                return f"must be at least {c['minlength']} characters"
            # Without its own maxlength a text field still has one; versions deployed before the
            # cap existed are held to it too.
            maxlength = min(int(c["maxlength"]), limits.MAXLENGTH_CAP) if c.get("maxlength") not in (None, "") else (
                limits.DEFAULT_MAXLENGTH if kind == "string" else None)
            if maxlength is not None and len(value) > maxlength:
                return f"must be at most {maxlength} characters"
    except (TypeError, ValueError):
        return "cannot be checked: the diagram's constraint is malformed"
    return None


def validate(fields: list[dict], data: dict | None) -> dict:
    """The coerced values for `fields`, or FormInvalid naming each bad field (sandbox.LimitExceeded
    when a required_if condition is stopped by the sandbox)."""
    data = dict(data or {})
    errors: dict[str, str] = {}
    known = {f["id"] for f in fields}
    for key in data:
        if key not in known:
            errors[key] = "is not a field of this form"
    values = {}
    for field in fields:
        fid = field["id"]
        c = field.get("constraints", {})
        raw = data.get(fid)
        if "readonly" in c and fid in data and not _blank(raw):
            errors[fid] = "is read-only"
            continue
        if _blank(raw):
            if field.get("default") not in (None, ""):
                raw = field["default"]
            elif "required" in c:
                errors[fid] = "is required"
                continue
            else:
                if fid in data:
                    values[fid] = None
                continue
        try:
            value = _coerce(field, raw)
        except ValueError as exc:
            errors[fid] = str(exc)
            continue
        problem = _check_constraints(field, value)
        if problem:
            errors[fid] = problem
            continue
        values[fid] = value
    _required_if(fields, values, errors)
    if errors:
        raise FormInvalid(errors=errors, values=data)
    return values


def _required_if(fields: list[dict], values: dict, errors: dict) -> None:
    """Fields the diagram makes required by a condition on the other answers (e.g. a loss reason)."""
    for field in fields:
        cond = (field.get("properties") or {}).get("required_if")
        fid = field["id"]
        if not cond or fid in errors or values.get(fid) not in (None, ""):
            continue
        scope = {f["id"]: values.get(f["id"]) for f in fields}
        try:
            needed = sandbox.evaluate(cond, scope)
        except sandbox.LimitExceeded as exc:
            # Not the user's answer but the diagram's condition at fault: the step fails as an incident.
            raise sandbox.LimitExceeded(exc.limit, f"the required_if condition of field '{fid}' was stopped: "
                                                   f"{exc.message}") from None
        except sandbox.SandboxError as exc:
            errors[fid] = f"cannot be checked: the diagram's condition `{cond}` failed ({exc})"
            continue
        if needed:
            errors[fid] = f"is required when {cond}"
