"""How much a request may carry: a body size per page (also for chunked bodies) and JSON within
the engine's bounds. Past a bound the answer is a 413 or 400 that names it; nothing is stored."""
from __future__ import annotations

import flask
from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from engine.limits import parse_json

# Any form or API call, unless its view accepts more: room for a form of several text fields at
# their default maxlength, far below what would bloat the database.
MAX_REQUEST_BYTES = 1024 * 1024
MAX_FORM_PARTS = 1000  # fields in one multipart form (Flask's default, stated here)


def accepts(max_bytes: int, what: str):
    """Let one view take bodies up to `max_bytes` (its form fields too); `what` explains the bound."""
    def mark(view):
        view.max_request_bytes, view.request_limit = max_bytes, what
        return view
    return mark


def _view():
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    return current_app.view_functions.get(endpoint) if endpoint else None


def _view_limit() -> int | None:
    return getattr(_view(), "max_request_bytes", None)


def size(n: int) -> str:
    """Bytes as people say them: 1 MB, 10.1 MB."""
    mb = n / 1048576
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"


def too_large() -> str:
    """What a 413 says: the bound of this page, and that nothing was kept."""
    what = getattr(_view(), "request_limit", None) or (
        f"a request may carry at most {size(current_app.config['MAX_CONTENT_LENGTH'])}")
    sent = f" (this one: {request.content_length:,} bytes)" if request.content_length else ""
    if request.mimetype == "multipart/form-data":
        what += f", in at most {current_app.config['MAX_FORM_PARTS']:,} form fields"
    return f"The request is too large{sent}: {what}. Nothing was stored."


class JSONProvider(DefaultJSONProvider):
    """The app's JSON, read within the engine's bounds (depth, real numbers, valid text): what
    request.get_json() uses for bodies."""

    def loads(self, s, **kwargs):
        return parse_json(s, "the request body", **kwargs)


class _AtMost(LimitedStream):
    """A chunked body, read up to `limit` bytes: one byte more is a 413. (Werkzeug's own bound on
    a chunked body stops reading at the limit and returns what it has, cut short, as if complete.)"""

    def __init__(self, stream, limit: int):
        super().__init__(stream, limit + 1, is_max=True)
        self.at_most = limit

    def readinto(self, b) -> int:
        n = super().readinto(b)
        if self._pos > self.at_most:
            raise RequestEntityTooLarge()
        return n


class Request(flask.Request):
    """Bounds every body by its view's limit, whether it comes with a Content-Length or chunked."""

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is not None and self.content_length is None and "wsgi.input_terminated" in self.environ:
            return _AtMost(self.environ["wsgi.input"], limit)  # chunked, under a server that ends it
        return get_input_stream(self.environ, max_content_length=limit)

    @property
    def max_content_length(self) -> int | None:
        return _view_limit() or super().max_content_length

    @property
    def max_form_memory_size(self) -> int | None:
        return _view_limit() or super().max_form_memory_size

    def on_json_loading_failed(self, e):
        if e is None:
            return super().on_json_loading_failed(e)
        raise BadRequest(description=str(e))


def json_body():
    """The request's JSON body; None when it was not sent as JSON; a 400 naming the bound it broke."""
    if not request.is_json:
        return None
    return request.get_json()


# What settings.DEFAULTS starts from (an operator may set other values in the config).
CONFIG = {"MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES, "MAX_FORM_MEMORY_SIZE": MAX_REQUEST_BYTES,
          "MAX_FORM_PARTS": MAX_FORM_PARTS}


def init_app(app: flask.Flask) -> None:
    """Use the bounded request class and JSON reader."""
    app.request_class = Request
    app.json = JSONProvider(app)
