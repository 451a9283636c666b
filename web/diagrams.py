"""The BPMN source of a deployed version, and the bpmn-js viewer files that draw it."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory
from flask_login import login_required

from engine.queries import views

from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("diagrams", __name__)


@bp.route("/diagrams/<process_id>/<int:version>.bpmn")
@login_required
@engine_errors
def source(process_id, version):
    """The diagram's XML, for users who work some part of the process."""
    xml = views.diagram(stagegate(), process_id, version, current_actor())
    return Response(xml, mimetype="application/xml")


@bp.route("/static/vendor/bpmn-js/<path:filename>")
def vendor(filename):
    """A file of the installed bpmn-js package (npm ci); 404 when it is not installed."""
    # send_from_directory refuses paths that leave the folder, and 404s on missing files.
    return send_from_directory(current_app.config["BPMN_JS_DIST"], filename, max_age=3600)
