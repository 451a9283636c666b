"""Process variables sent where the diagram has no form (Camunda's start and complete with variables),
and the business key a deal is started with.

A start event or user task without camunda:formData takes variables as JSON, as Camunda's REST API
and a form-less task in Camunda do; where the diagram has a form, the form decides (unknown fields
stay refused, engine/bpmn/forms.py). Bounded: names a diagram's expressions can read, at most
MAX_VARIABLES of them, MAX_VARIABLES_BYTES as JSON text, strings within a form field's cap.
"""
from __future__ import annotations

import json
import keyword
import re

from engine.errors import FormInvalid
from engine.limits import DEFAULT_MAXLENGTH, MAX_TEXT_ARG, unstorable

MAX_VARIABLES = 200
MAX_VARIABLES_BYTES = 256 * 1024
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")


def checked(data: dict | None) -> dict:
    """The variables as they will be stored, or FormInvalid naming each bad one."""
    data = dict(data or {})
    errors = {}
    if len(data) > MAX_VARIABLES:
        raise FormInvalid({"_": f"at most {MAX_VARIABLES} variables may be sent at once ({len(data)} were)"}, data)
    for name, value in data.items():
        if not _NAME.match(name) or keyword.iskeyword(name):
            errors[name] = ("is not a variable name a diagram can read: a letter, then letters, digits or '_' "
                            "(at most 128), and not a Python keyword")
        else:
            reason = _value_problem(value)
            if reason:
                errors[name] = reason
    if not errors and len(json.dumps(data, ensure_ascii=False).encode()) > MAX_VARIABLES_BYTES:
        errors["_"] = f"the variables are larger than {MAX_VARIABLES_BYTES // 1024} KB as JSON"
    if errors:
        raise FormInvalid(errors, data)
    return data


def _value_problem(value, depth: int = 0) -> str | None:
    if isinstance(value, str):
        if len(value) > DEFAULT_MAXLENGTH:
            return f"must be at most {DEFAULT_MAXLENGTH} characters"
        return f"holds {unstorable(value)}" if unstorable(value) else None
    if isinstance(value, (list, dict)):
        if depth >= 8:
            return "nests lists and objects more than 8 levels deep"
        items = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict) and any(not isinstance(k, str) for k in value):
            return "has an object key that is not text"
        return next((r for r in (_value_problem(v, depth + 1) for v in items) if r), None)
    if value is None or isinstance(value, (bool, int, float)):
        return None
    return "must be text, a number, true/false, null, a list or an object"


def business_key(value) -> str | None:
    """The business key as stored (None when not given), or FormInvalid saying why not."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else None
    if not text:
        reason = "must be non-empty text"
    elif len(text) > MAX_TEXT_ARG:
        reason = f"must be at most {MAX_TEXT_ARG} characters"
    elif unstorable(text) or re.search(r"[\x00-\x1f\x7f]", text):
        reason = "may not hold control characters"
    else:
        return text
    raise FormInvalid({"business_key": reason}, {"business_key": value})
