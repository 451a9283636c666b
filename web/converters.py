"""URL converters: a route only matches ids the database can hold, so anything else is a 404."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter, UnicodeConverter

from engine.limits import MAX_ID, MAX_TEXT_ARG


class DatabaseId(IntegerConverter):
    """A non-negative integer up to BIGINT's maximum; a larger one is no route (404), not a crash."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)


class DatabaseText(UnicodeConverter):
    """A path segment no id column could fail on: at most 255 characters and no NUL (PostgreSQL
    refuses it in a query); anything else is no route (404)."""

    def __init__(self, url_map, minlength=1, maxlength=MAX_TEXT_ARG, length=None):
        super().__init__(url_map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


def init_app(app) -> None:
    """Make <int:...> and <...> routes bounded (before the blueprints add their rules)."""
    app.url_map.converters["int"] = DatabaseId
    app.url_map.converters["default"] = app.url_map.converters["string"] = DatabaseText
