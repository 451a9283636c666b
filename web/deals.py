"""The deals list and one deal's page."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from engine.queries import inbox as inbox_queries
from engine.queries import views

from . import query
from .context import current_actor, stagegate
from .deal_data import key_data
from .guard import engine_errors
from .team import assignees

bp = Blueprint("deals", __name__)

STATUSES = ("running", "completed", "error")


@bp.route("/deals")
@login_required
@engine_errors
def index():
    """The deals the user can see, newest first, with their gate outcomes; filter by status and business key."""
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    key = query.text("key")  # the start of a business key
    rows = inbox_queries.deals(stagegate(), current_actor(), status=status, business_key=key)
    return render_template("deals.html", deals=rows, status=status, statuses=STATUSES, key=key)


@bp.route("/deals/<int:instance_id>")
@login_required
@engine_errors
def show(instance_id):
    """One deal: data, open tasks, gate decisions, history and diagram (for users who may see it)."""
    sg = stagegate()
    deal = views.deal(sg, instance_id, current_actor())
    return render_template("deal.html", deal=deal, data=key_data(deal),
                           assignees=assignees(sg, deal["ready_tasks"]))
