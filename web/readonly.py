"""Auditors change nothing: every write request an auditor sends is refused (403) and audited.

One hook for every route, so write routes added later are covered without a line of their
own; the engine's use cases refuse auditors too (for the CLI and the JSON API).
"""
from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user

from engine.errors import Refused
from engine.readonly import refuse_if_auditor
from engine.roles import AUDITOR_ROLE

from .context import stagegate

READS = {"GET", "HEAD", "OPTIONS"}
SESSION_ROUTES = {"auth.login", "auth.logout"}  # signing in and out changes no record


def reads_only(view):
    """Mark a POST route that changes nothing (e.g. a what-if replay), so auditors may use it."""
    view.reads_only = True
    return view


def _refuse_auditor_writes():
    if getattr(current_app.view_functions.get(request.endpoint), "reads_only", False):
        return
    if (request.method in READS or request.url_rule is None or request.endpoint in SESSION_ROUTES
            or not current_user.is_authenticated or AUDITOR_ROLE not in current_user.roles):
        return
    target = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, (str, int))}
    try:
        refuse_if_auditor(stagegate(), current_user.name, f"{request.method} {request.path}",
                          endpoint=request.endpoint, method=request.method, path=request.path, **target)
    except Refused as exc:
        abort(403, description=str(exc))


def init_app(app: Flask) -> None:
    """Install the hook (after CSRF protection, so a forged form is still a 400)."""
    app.before_request(_refuse_auditor_writes)
