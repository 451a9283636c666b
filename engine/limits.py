"""Bounds on what users send: JSON shape, text in form fields, numbers, dates and names in queries.

Every entry point (web pages, the JSON API, the CLI) reads user input through these, so a
value past a bound is refused with a message naming the bound, never a crash further down.
"""
from __future__ import annotations

import json
import re
from datetime import date

from engine.errors import Problem

#: The largest .bpmn or .dmn file the engine reads (deploy, designer uploads).
MAX_DIAGRAM_BYTES = 5 * 1024 * 1024
#: The largest audit checkpoint file read back to verify the chain against.
MAX_CHECKPOINT_FILE = 4_000_000
#: What a sandbox limit (LimitExceeded.limit, an incident's `limit`) can be, and how a message names it.
LIMIT_NAMES = {
    "memory": "memory",
    "cpu": "CPU time",
    "wall": "wall-clock time",
    "size": "size",
    "steps": "steps",
    "busy": "sandbox workers",
}

MAX_ID = 2**63 - 1  # BIGINT: what an id or version column can hold (SQLite cannot even compare more)
MAX_JSON_DEPTH = 32  # objects and arrays inside each other; form data needs 2, a body 3
# A string form field without its own maxlength takes at most this many characters (about 1,500
# words); a diagram may allow more, up to MAXLENGTH_CAP.
DEFAULT_MAXLENGTH = 10_000
MAXLENGTH_CAP = 100_000
MAX_TEXT_ARG = 255  # a name or id in a query (process, role, stage, actor): the columns' size
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)  # a period ends the day after its last day

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[+-]?[0-9]{1,4000}")


class InputRefused(ValueError):
    """A value past one of the bounds above; the message says which (`reason`: the same, without
    naming the value, for messages keyed by field)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def _deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (brackets inside strings do not count)."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _not_a_number(name: str):
    raise InputRefused(f"{name} is not a JSON number")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in `text` as U+XXXX, if any: such a string cannot be stored or sent."""
    found = _SURROGATE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def unstorable(text: str) -> str | None:
    """What in `text` no database can store, if anything: a NUL (PostgreSQL refuses it in text) or a
    lone surrogate (not a character; UTF-8 cannot encode it)."""
    if "\x00" in text:
        return "a NUL character"
    bad = lone_surrogate(text)
    return f"a lone surrogate ({bad}), which is not a character" if bad else None


def strings_in(value):
    """Every string inside a JSON value: keys, values, items."""
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            todo.extend(v)
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)


def _check_strings(value, what: str) -> None:
    for v in strings_in(value):
        bad = lone_surrogate(v)
        if bad:
            raise InputRefused(f"{what} holds a lone surrogate ({bad}) in a string, which is not a character")


def parse_json(text: str | bytes, what: str = "the JSON", **options):
    """Parse JSON text within the bounds: UTF-8, at most MAX_JSON_DEPTH deep, real numbers only,
    no lone surrogates (`options` go to json.loads). InputRefused says what is wrong and where."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputRefused(f"{what} is not UTF-8 text (byte {exc.start})") from None
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise InputRefused(f"{what} nests arrays and objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_not_a_number, **options)
    except json.JSONDecodeError as exc:
        raise InputRefused(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except InputRefused as exc:
        raise InputRefused(f"{what}: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputRefused(f"{what} is not usable JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value, what)
    return value


# -- values from query strings and command-line options -------------------------------------

def whole_number(value, what: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """A whole number from text or an int (None when blank); InputRefused unless from low to high."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip().replace(",", "")):
        number = int(value.strip().replace(",", ""))
    if number is None:
        reason = f"'{shown(value)}' is not a whole number"
    elif number < low:
        reason = "cannot be negative" if low == 0 else f"must be at least {low:,}"
    elif number > high:
        reason = f"must be at most {high:,}"
    else:
        return number
    raise InputRefused(f"{what} {reason}", reason)


def day(value, what: str) -> date | None:
    """A date from YYYY-MM-DD text or a date (None when blank), from FIRST_DAY to LAST_DAY."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    found = value if isinstance(value, date) else None
    text = str(value).strip()
    if found is None and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            found = date.fromisoformat(text)
        except ValueError:
            pass
    if found is None:
        reason = f"'{shown(text)}' is not a date like 2026-01-31"
    elif not FIRST_DAY <= found <= LAST_DAY:
        reason = f"must be from {FIRST_DAY} to {LAST_DAY}"
    else:
        return found
    raise InputRefused(f"{what} {reason}", reason)


def text_value(value, what: str, max_length: int = MAX_TEXT_ARG) -> str | None:
    """A name or id typed into a filter (None when blank): bounded, and text a database can compare
    (PostgreSQL refuses NUL; a lone surrogate cannot even be encoded)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if len(text) > max_length:
        reason = f"is longer than {max_length} characters"
    elif unstorable(text):
        reason = f"holds {unstorable(text)}"
    else:
        return text
    raise InputRefused(f"{what} {reason}", reason)


def shown(value, limit: int = 40) -> str:
    """A user's value as it may be quoted back in a message: short, one line, valid text."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "..."
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", text))


# -- what a diagram may ask for ---------------------------------------------------------------

def lint_form_limits(model: dict) -> list[Problem]:
    """A string field's maxlength must be a whole number no larger than MAXLENGTH_CAP."""
    problems = []
    for el in model["elements"].values():
        for field in el.get("form") or []:
            raw = (field.get("constraints") or {}).get("maxlength")
            if raw in (None, "") or (field.get("type") or "string") != "string":
                continue
            try:
                limit = int(str(raw).strip())
            except ValueError:
                limit = None
            if limit is None or not 0 < limit <= MAXLENGTH_CAP:
                problems.append(Problem(model["file"], f"form field '{field.get('id')}': maxlength '{raw}' must be a "
                                        f"whole number from 1 to {MAXLENGTH_CAP:,} (without one a text field takes "
                                        f"at most {DEFAULT_MAXLENGTH:,} characters)",
                                        el.get("id"), el.get("name"), el.get("line")))
    return problems
