"""Sign in and sign out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine.errors import Refused
from engine.services.sign_in import MAX_NAME, authenticate
from engine.services.users import sign_out

from .context import stagegate
from .login import User

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; on success, go where the user was headed."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target or url_for("inbox.index"))
        return render_template("login.html", next=target, username="", max_name=MAX_NAME)
    username = (request.form.get("username") or "").strip()
    try:
        who = authenticate(stagegate(), username, request.form.get("password") or "",
                           source=request.remote_addr or "")
    except Refused as exc:
        return render_template("login.html", next=target, username=username[:MAX_NAME], error=str(exc),
                               max_name=MAX_NAME), 401
    session.clear()  # a fresh session for the new identity
    login_user(User(who["name"], who["roles"], who["session_generation"]))
    session.permanent = True
    return redirect(target or url_for("inbox.index"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out: every session of the user ends (a copy of this cookie too), then forget this one."""
    sign_out(stagegate(), current_user.name, current_user.session_generation)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
