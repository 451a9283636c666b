"""Sign in and sign out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine.errors import Refused
from engine.users import authenticate

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
        return render_template("login.html", next=target, username="")
    username = (request.form.get("username") or "").strip()
    try:
        who = authenticate(stagegate(), username, request.form.get("password") or "",
                           source=request.remote_addr or "")
    except Refused as exc:
        return render_template("login.html", next=target, username=username, error=str(exc)), 401
    session.clear()  # a fresh session for the new identity
    login_user(User(who["name"], who["roles"]))
    session.permanent = True
    return redirect(target or url_for("inbox.index"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
