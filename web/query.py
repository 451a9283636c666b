"""The one way routes read numbers and names from the query string: a value the engine cannot use
is a 400 saying which parameter and why (for the API, as JSON naming the field). Dates and the
audit filters are read by the engine with the same readers (engine/limits.py)."""
from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from engine import limits


class QueryInvalid(BadRequest):
    """A query parameter that cannot be used; `errors` maps it to the reason."""

    def __init__(self, name: str, exc: limits.InputRefused):
        super().__init__(description=f"query parameter {name}: {exc.reason}")
        self.errors = {name: exc.reason}


def _read(check, name: str, *args):
    try:
        return check(request.args.get(name), name, *args)
    except limits.InputRefused as exc:
        raise QueryInvalid(name, exc) from None


def number(name: str, low: int = 0, high: int = limits.MAX_ID) -> int | None:
    """A whole number from low to high, or None when absent or blank."""
    return _read(limits.whole_number, name, low, high)


def page() -> int:
    """?page=N: a page number that is not one (page=x, page=²) shows the first page, as a list's
    links would; one past the end shows the last (the query clamps it)."""
    text = (request.args.get("page") or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return max(1, int(text) if len(text) < 19 else limits.MAX_ID)


def text(name: str) -> str | None:
    """A name or id (process, role, stage...), or None: bounded and without control characters."""
    return _read(limits.text_value, name)
