"""The user's account: API tokens for the JSON API (create, shown once; revoke); mail settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import FormInvalid, Refused
from engine.queries import integrations as views
from engine.services import notification_settings as notif
from engine.services.tokens import create_token, list_tokens, revoke_token

from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(new_token: dict | None = None, error: str | None = None, status: int = 200):
    me = current_actor()
    return render_template("account_tokens.html", tokens=list_tokens(stagegate(), me, me), new_token=new_token,
                           error=error), status


@bp.route("/tokens")
@login_required
@engine_errors
def tokens():
    """The user's API tokens and a form to create one."""
    return _page()


@bp.route("/tokens", methods=["POST"])
@login_required
@engine_errors
def create():
    """Create a token and show it, this once."""
    me = current_actor()
    try:
        made = create_token(stagegate(), me, me, request.form.get("name") or "")
    except Refused as exc:
        return _page(error=str(exc), status=422)
    return _page(new_token=made, status=201)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@engine_errors
def revoke(token_id):
    """Revoke a token: requests with it are refused from now on."""
    me = current_actor()
    row = revoke_token(stagegate(), me, me, token_id)
    flash(f"Token '{row['name']}' ({row['prefix']}…) is revoked.", "success")
    return redirect(url_for("account.tokens"))


def _notifications(error: str | None = None, status: int = 200):
    me = current_actor()
    return render_template("account_notifications.html", settings=notif.settings_of(stagegate(), me, me),
                           mails=views.mail_log(stagegate(), me, me, limit=50), error=error), status


@bp.route("/notifications")
@login_required
@engine_errors
def notifications():
    """The user's mail address, their choice for task mail (at once, daily digest, none), and their mail."""
    return _notifications()


@bp.route("/notifications", methods=["POST"])
@login_required
@engine_errors
def save_notifications():
    """Save the mail address and task mail choice (audited)."""
    me = current_actor()
    try:
        notif.set_settings(stagegate(), me, me, request.form.get("email", ""), request.form.get("task_mail") or None)
    except FormInvalid as exc:
        return _notifications(error="; ".join(f"{k}: {v}" for k, v in exc.errors.items()), status=422)
    flash("Notification settings saved.", "success")
    return redirect(url_for("account.notifications"))
