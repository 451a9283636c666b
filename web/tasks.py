"""The task page: the task's form, its deal's data, diagram and history; submitting completes it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.queries import views
from engine.errors import FormInvalid, StepFailed
from engine.services.instances import complete_task

from . import fields
from .context import current_actor, stagegate
from .deal_data import key_data
from .guard import engine_errors
from .team import assignees

bp = Blueprint("tasks", __name__)


def _page(task_id: str, values: dict | None = None, errors: dict | None = None, failure: str | None = None,
          status: int = 200):
    sg = stagegate()
    page = views.task(sg, task_id, current_actor())
    task, deal = page["task"], page["deal"]
    form = task["form"] or []
    open_here = [t for t in (task, task["escalates"]) if t and t.get("state") == "ready"]
    return render_template(
        "task.html", task=task, deal=deal, widgets=fields.widgets(form, values, errors),
        form_errors=fields.unknown_errors(errors or {}, form), failure=failure,
        data=key_data(deal), claimed_by_other=task["claimed_by"] not in (None, current_actor()),
        assignees=assignees(sg, open_here)), status


@bp.route("/tasks/<task_id>")
@login_required
@engine_errors
def show(task_id):
    """The task's form (for a user who may work it; a department head sees the task without it), with the deal."""
    return _page(task_id)


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
@engine_errors
def complete(task_id):
    """Complete the task with the submitted values; a bad value shows the form again."""
    sg = stagegate()
    task = views.task(sg, task_id, current_actor())["task"]
    data = fields.submitted(task["form"] or [], request.form)
    try:
        result = complete_task(sg, task_id, current_actor(), data)
    except FormInvalid as exc:
        return _page(task_id, values=data, errors=exc.errors, status=422)
    except StepFailed as exc:
        # The step was rolled back: the task is still open and the values are still here.
        return _page(task_id, values=data, failure=f"{exc} (incident {exc.incident_id})", status=422)
    flash(f"Done: {task['name']} on {result['title']}.", "success")
    return redirect(url_for("inbox.index"))
