"""Error pages: bad request (and a missing CSRF token), forbidden, not found, stale, server error."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import limits

TITLES = {
    400: "This request could not be used",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed this way",
    409: "This has moved on",
    500: "Something went wrong",
}


def _csrf(exc: CSRFError):
    message = (f"{exc.description} The form was not accepted because its security token was missing or "
               "expired, so nothing was saved. Go back, reload the page and send it again.")
    return render_template("error.html", code=400, title="Form not accepted", message=message), 400


def _http(exc: HTTPException):
    code = exc.code or 500
    if request.path.startswith("/api/"):
        return jsonify({"error": exc.description, **({"errors": exc.errors} if getattr(exc, "errors", None) else {})}), code
    if request.is_json:  # the designer's editors: they show `message`
        return jsonify({"ok": False, "message": exc.description}), code
    if code == 409:
        return render_template("stale.html", message=exc.description), 409
    title = TITLES.get(code, exc.name)
    return render_template("error.html", code=code, title=title, message=exc.description), code


def _too_large(exc: RequestEntityTooLarge):
    return _http(RequestEntityTooLarge(description=limits.too_large()))


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    # Unexpected exceptions reach this too, as a 500 whose text says nothing of the cause
    # (Flask logs the traceback).
    app.register_error_handler(HTTPException, _http)
