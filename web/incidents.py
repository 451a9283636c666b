"""Retrying an incident from the deal page: an external task out of retries gets one more try."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import login_required

from engine.services.external_tasks import set_retries

from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("incidents", __name__)


@bp.post("/deals/<int:instance_id>/external-tasks/<task_id>/retry")
@login_required
@engine_errors
def retry(instance_id, task_id):
    """Give the external task one retry (as Camunda's cockpit does): a worker fetches it again."""
    set_retries(stagegate(), current_actor(), task_id, 1, instance_id=instance_id)
    flash("The task is open to workers again; the incident is resolved.", "success")
    return redirect(url_for("deals.show", instance_id=instance_id))
