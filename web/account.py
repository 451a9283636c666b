"""The user's account: API tokens for the JSON API (create, shown once; revoke)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import Refused
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
