"""The deals list and one deal's page."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from engine.services import attachments as files
from engine.services import comments as comment_queries
from engine.queries import views
from engine.services.external_tasks import may_retry
from workflows import pipeline

from . import deal_data
from . import query
from .context import current_actor, stagegate
from .guard import engine_errors
from .pipeline import read_filters
from .team import assignees

bp = Blueprint("deals", __name__)

STATUSES = pipeline.STATUSES
SEARCH_MAX = 100  # characters of a search: a deal number, or part of a name, customer or key


@bp.route("/deals")
@login_required
@engine_errors
def index():
    """The deals the user can see, one page at a time: search, filter (status, business key and the
    board's filters), sort."""
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    key = query.text("key")  # the start of a business key
    filters, problems = read_filters()
    found = query.text("q")
    if found and len(found) > SEARCH_MAX:
        problems["q"] = f"is longer than {SEARCH_MAX} characters"
        found = None
    result = pipeline.deal_list(stagegate(), current_actor(), filters, status=status, text=found, key=key,
                                sort=request.args.get("sort", "newest"), direction=request.args.get("dir"),
                                page=query.page())
    args = {**filters.as_args(), "status": status, "key": key, "q": found}
    return render_template("deals.html", result=result, deals=result["deals"], status=status, statuses=STATUSES,
                           key=key, q=found, f=filters, args={k: v for k, v in args.items() if v is not None},
                           problems=problems), 400 if problems else 200


@bp.route("/deals/<int:instance_id>")
@login_required
@engine_errors
def show(instance_id):
    """One deal: data, open tasks, gate decisions, history and diagram (for users who may see it)."""
    sg = stagegate()
    deal = views.deal(sg, instance_id, current_actor())
    on_deal = files.attachments(sg, instance_id, current_actor())
    return render_template("deal.html", deal=deal, steps=deal_data.by_step(deal, on_deal),
                           sign_offs=deal_data.sign_offs(deal),
                           comments=comment_queries.comments(sg, instance_id, current_actor()),
                           files=deal_data.named_tasks(on_deal, deal),
                           assignees=assignees(sg, deal["ready_tasks"]),
                           may_retry=any(i["external_task_id"] for i in deal["open_incidents"])
                           and may_retry(sg, current_actor()))
