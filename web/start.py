"""Starting a deal: the processes a user may start, and each one's start form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.queries import views
from engine.errors import FormInvalid, StepFailed
from engine.services.instances import start_instance

from . import fields
from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("start", __name__)


@bp.route("/start")
@login_required
@engine_errors
def index():
    """The processes the user may start."""
    return render_template("start_list.html", processes=views.startable(stagegate(), current_actor()))


def _page(process: dict, values=None, errors=None, failure=None, status=200):
    form = process["form"] or []
    return render_template("start_form.html", process=process, widgets=fields.widgets(form, values, errors),
                           form_errors=fields.unknown_errors(errors or {}, form), failure=failure), status


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@login_required
@engine_errors
def form(process_id):
    """The start form; a valid submission starts the deal and opens its page."""
    sg = stagegate()
    process = views.start_form(sg, process_id, current_actor())
    if request.method == "GET":
        return _page(process)
    data = fields.submitted(process["form"] or [], request.form)
    try:
        deal = start_instance(sg, process_id, current_actor(), data)
    except FormInvalid as exc:
        return _page(process, values=data, errors=exc.errors, status=422)
    except StepFailed as exc:
        return _page(process, values=data, failure=f"{exc} (incident {exc.incident_id})", status=422)
    flash(*_started(deal))
    return redirect(url_for("deals.show", instance_id=deal["id"]))


def _started(deal: dict) -> tuple[str, str]:
    """What the start did, said as it is: a deal a gate killed at once is no green success."""
    outcome = deal["outcome"]
    if outcome["kind"] == "open":
        return f"Started {deal['title']}.", "success"
    if outcome["kind"] == "killed":
        return f"Started {deal['title']}, and it was {outcome['text']}.", "warning"
    return f"Started {deal['title']}; it ended at once ({outcome['text']}).", "info"
