"""The task page: the task's form, its deal's data, diagram and history; submitting completes it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.services import attachments as files
from engine.queries import views
from engine.errors import FormInvalid, StepFailed
from engine.services.instances import complete_task

from . import deal_data, fields
from .attachments import store as attachment_store
from .context import current_actor, stagegate
from .guard import engine_errors
from .limits import accepts, size
from .next_steps import what_next
from .team import assignees

bp = Blueprint("tasks", __name__)


def _page(task_id: str, values: dict | None = None, errors: dict | None = None, failure: str | None = None,
          status: int = 200):
    sg = stagegate()
    page = views.task(sg, task_id, current_actor())
    task, deal = page["task"], page["deal"]
    form = task["form"] or []
    open_here = [t for t in (task, task["escalates"]) if t and t.get("state") == "ready"]
    on_deal = files.attachments(sg, deal["id"], current_actor())
    return render_template(
        "task.html", task=task, deal=deal, widgets=fields.widgets(form, values, errors),
        form_errors=fields.unknown_errors(errors or {}, form), failure=failure,
        steps=deal_data.by_step(deal, on_deal), sign_offs=deal_data.sign_offs(deal), gate=deal_data.gate(task, deal),
        submitted=deal_data.submitted(task["submitted"], deal, on_deal),
        files=[a for a in on_deal if a["task_id"] == task["id"]],
        claimed_by_other=task["claimed_by"] not in (None, current_actor()),
        assignees=assignees(sg, open_here)), status


@bp.route("/tasks/<task_id>")
@login_required
@engine_errors
def show(task_id):
    """The task's form (for a user who may work it; a department head sees the task without it), with the deal."""
    return _page(task_id)


def _upload_files(sg, task: dict, data: dict) -> dict:
    """Attach the files sent for the form's file fields to the task, their ids becoming the values;
    {field id: why} for the files refused."""
    refused = {}
    for f in task["form"] or []:
        sent = request.files.get(f["id"]) if f.get("type") == "file" else None
        if sent is None or not sent.filename:
            continue
        try:
            a = files.upload(sg, attachment_store(), task["instance_id"], current_actor(), sent.filename, sent.stream,
                             task_id=task["id"])
        except FormInvalid as exc:
            refused[f["id"]] = exc.errors.get("file", "was refused")
            continue
        data[f["id"]] = str(a["id"])
    return refused


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
@accepts(files.MAX_BYTES + 256 * 1024, f"a task form may carry one file of at most {size(files.MAX_BYTES)}")
@engine_errors
def complete(task_id):
    """Complete the task with the submitted values; a bad value shows the form again."""
    sg = stagegate()
    task = views.task(sg, task_id, current_actor())["task"]
    data = fields.submitted(task["form"] or [], request.form)
    refused = _upload_files(sg, task, data)
    if refused:
        return _page(task_id, values=data, errors=refused, status=422)
    try:
        result = complete_task(sg, task_id, current_actor(), data)
    except FormInvalid as exc:
        return _page(task_id, values=data, errors=exc.errors, status=422)
    except StepFailed as exc:
        # The step was rolled back: the task is still open and the values are still here.
        return _page(task_id, values=data, failure=f"{exc} (incident {exc.incident_id})", status=422)
    flash(f"Done: {task['name']} on {result['title']}.", "success")
    flash(*what_next(result, {r.casefold() for r in current_user.roles}))
    return redirect(url_for("inbox.index"))
