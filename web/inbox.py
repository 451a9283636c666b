"""The task inbox, and claiming, releasing and reassigning tasks from it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.queries import inbox as inbox_queries
from engine.services.claims import claim_task, reassign_task, unclaim_task

from . import query
from .auth import safe_next
from .context import current_actor, stagegate
from .guard import engine_errors
from .team import assignees

bp = Blueprint("inbox", __name__)

FILTERS = ("process", "role", "stage", "key")  # key: the start of a deal's business key
SORTS = {"due": "due date", "age": "age"}


def _chosen() -> dict:
    chosen = {k: query.text(k) for k in FILTERS}
    chosen["sort"] = request.args.get("sort") if request.args.get("sort") in SORTS else "due"
    return chosen


@bp.route("/")
@login_required
@engine_errors
def index():
    """The ready tasks of the user's roles, filtered and sorted, with counts per filter value."""
    sg = stagegate()
    chosen = _chosen()
    result = inbox_queries.inbox(sg, current_actor(), process=chosen["process"], role=chosen["role"],
                                 stage=chosen["stage"], sort=chosen["sort"], business_key=chosen["key"])

    def link(**changes):
        """This inbox URL with some filters changed (None drops one)."""
        args = {k: v for k, v in {**chosen, **changes}.items() if v}
        return url_for("inbox.index", **args)

    # Tasks naming nobody (open to anyone, as in Camunda) have a part of their own below the user's own.
    anyone = [t for t in result["tasks"] if t["open_to_anyone"]]
    tasks = [t for t in result["tasks"] if not t["open_to_anyone"]]
    return render_template("inbox.html", tasks=tasks, anyone=anyone, counts=result["counts"], roles=result["roles"],
                           headed=result["headed"], matching=result["matching"] - len(anyone),
                           chosen=chosen, sorts=SORTS, link=link, assignees=assignees(sg, tasks),
                           here=request.full_path.rstrip("?"))


def _back():
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
@engine_errors
def claim(task_id):
    """Take a task so that only you work it."""
    claim_task(stagegate(), task_id, current_actor())
    flash("You claimed the task; only you can complete it now.", "success")
    return _back()


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@login_required
@engine_errors
def unclaim(task_id):
    """Give a claimed task back to its role's queue."""
    unclaim_task(stagegate(), task_id, current_actor())
    flash("The task is back in its role's queue.", "success")
    return _back()


@bp.route("/tasks/<task_id>/reassign", methods=["POST"])
@login_required
@engine_errors
def reassign(task_id):
    """A department head hands a task to a named user."""
    to_user = (request.form.get("to_user") or "").strip()
    reassign_task(stagegate(), task_id, current_actor(), to_user)
    flash(f"The task is now with {to_user}.", "success")
    return _back()
