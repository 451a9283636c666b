"""URL converters: an <int:...> in a route only matches ids the database can hold."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # BIGINT; SQLite cannot even compare a larger Python int with a column


class DatabaseId(IntegerConverter):
    """A non-negative integer up to BIGINT's maximum; a larger one is no route (404), not a crash."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_app(app) -> None:
    """Make <int:...> routes bounded (before the blueprints add their rules)."""
    app.url_map.converters["int"] = DatabaseId
