"""The task inbox (its views, search, sorts and saved filters), and claiming, releasing and
reassigning tasks from it: one at a time, or several at once for a department head."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import limits
from engine.errors import FormInvalid
from engine.queries import inbox_views
from engine.queries.saved_filters import saved_filters
from engine.services.claims import BULK_MAX, act_on_tasks, claim_task, reassign_task, unclaim_task
from engine.services.saved_filters import PARAMS, delete_filter, save_filter

from . import query
from .auth import safe_next
from .context import current_actor, stagegate
from .guard import engine_errors
from .next_steps import listed
from .team import assignees

bp = Blueprint("inbox", __name__)

FILTERS = ("process", "role", "stage", "key")  # key: the start of a deal's business key
SORTS = {"due": "due date", "age": "age", "value": "deal value", "priority": "priority"}
DONE_SORTS = {"done": "most recently done", **SORTS}
BULK_WORDS = {"claim": "claimed", "release": "released", "reassign": "reassigned"}


def _chosen() -> dict:
    chosen = {k: query.text(k) for k in (*FILTERS, "q")}
    chosen["view"] = request.args.get("view") if request.args.get("view") in inbox_views.VIEWS else None
    sorts = DONE_SORTS if chosen["view"] == "done" else SORTS
    chosen["sort"] = request.args.get("sort") if request.args.get("sort") in sorts else None
    return chosen


@bp.route("/")
@login_required
@engine_errors
def index():
    """One view of the user's tasks, searched, filtered and sorted, with counts per filter value."""
    sg = stagegate()
    chosen = _chosen()
    result = inbox_views.listing(sg, current_actor(), view=chosen["view"] or "all", search=chosen["q"],
                                 sort=chosen["sort"], process=chosen["process"], role=chosen["role"],
                                 stage=chosen["stage"], business_key=chosen["key"])

    def link(**changes):
        """This inbox URL with some choices changed (None drops one)."""
        args = {k: v for k, v in {**chosen, **changes}.items() if v}
        return url_for("inbox.index", **args)

    # Tasks naming nobody (open to anyone, as in Camunda) have a part of their own below the user's own.
    split = result["view"] != "done"
    anyone = [t for t in result["tasks"] if split and t["open_to_anyone"]]
    tasks = [t for t in result["tasks"] if not (split and t["open_to_anyone"])]
    return render_template("inbox.html", tasks=tasks, anyone=anyone, counts=result["counts"], roles=result["roles"],
                           headed=result["headed"], heads=result["heads"], matching=result["matching"] - len(anyone),
                           view=result["view"], sort=result["sort"], names=result["process_names"],
                           chosen=chosen, views=inbox_views.VIEWS,
                           sorts=DONE_SORTS if result["view"] == "done" else SORTS, link=link,
                           assignees=assignees(sg, result["tasks"]), saved=saved_filters(sg, current_actor()),
                           here=request.full_path.rstrip("?"), bulk_max=BULK_MAX)


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
    """A department head hands a task to a named user (a blank choice is refused, nothing changes)."""
    to_user = (request.form.get("to_user") or "").strip()[:120]
    if not to_user:
        flash("Choose a person to reassign the task to; nothing was changed.", "error")
        return _back()
    reassign_task(stagegate(), task_id, current_actor(), to_user)
    flash(f"The task is now with {to_user}.", "success")
    return _back()


@bp.route("/inbox/bulk", methods=["POST"])
@login_required
@engine_errors
def bulk():
    """A department head claims, releases or reassigns the ticked tasks; each is done, or reported by name."""
    action = request.form.get("action") or ""
    to_user = (request.form.get("to_user") or "").strip()[:120]
    if action == "reassign" and not to_user:
        flash("Choose a person to reassign the tasks to; nothing was changed.", "error")
        return _back()
    result = act_on_tasks(stagegate(), current_actor(), action, request.form.getlist("task_ids")[:BULK_MAX + 1],
                          to_user)
    done, failed = result["done"], result["failed"]
    if done:
        who = f" to {to_user}" if action == "reassign" else ""
        flash(f"{BULK_WORDS[action].capitalize()}{who}: {listed([t['name'] for t in done])} "
              f"({len(done)} task{'s' if len(done) != 1 else ''}).", "success")
    for t in failed:
        flash(f"Not {BULK_WORDS[action]}: {t['name']}: {t['why']}.", "warning")
    return _back()


@bp.route("/inbox/filters", methods=["POST"])
@login_required
@engine_errors
def save():
    """Save the inbox's current view, search, filters and sort under a name of the user's own."""
    params = {k: request.form.get(k) for k in PARAMS}
    try:
        saved = save_filter(stagegate(), current_actor(), request.form.get("name"), params)
    except FormInvalid as exc:
        flash("The filter was not saved: " + "; ".join(f"{'its name' if k == 'name' else 'it'} {why}"
                                                       for k, why in exc.errors.items()) + ".", "error")
        return redirect(url_for("inbox.index", **{k: v for k, v in params.items() if v}))
    flash(f"Saved the filter \u201c{saved['name']}\u201d{' (replacing the one of that name)' if saved['replaced'] else ''}; "
          "it is listed under Saved filters.", "success")
    return redirect(url_for("inbox.index", **saved["params"]))


@bp.route("/inbox/filters/<int:filter_id>/delete", methods=["POST"])
@login_required
@engine_errors
def delete(filter_id):
    """Delete one of the user's saved filters."""
    if filter_id > limits.MAX_ID:  # no such row, and too big for the database's integer
        abort(404)
    gone = delete_filter(stagegate(), current_actor(), filter_id)
    flash(f"Deleted the saved filter \u201c{gone['name']}\u201d.", "success")
    return redirect(url_for("inbox.index"))
