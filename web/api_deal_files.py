"""The JSON API's comments and attachments on a deal: the same use cases, role checks and audit as the
deal page (engine.services.comments and .attachments). Its routes join the /api/v1 blueprint, so they
take a token, never a session cookie, like the rest of the API."""
from __future__ import annotations

from flask import g, jsonify

from engine.services import attachments as files
from engine.services import comments as comment_service

from .api import BadRequest, _body, bp
from .attachments import file_response, store
from .context import stagegate


@bp.get("/instances/<int:instance_id>/comments")
def comments(instance_id):
    """The deal's comments, oldest first."""
    return jsonify({"comments": comment_service.comments(stagegate(), instance_id, g.api_user)})


@bp.post("/instances/<int:instance_id>/comments")
def add_comment(instance_id):
    """Comment on the deal with {"body": "..."}; the @mentioned people who may see it are notified."""
    body = _body().get("body")
    if not isinstance(body, str):
        raise BadRequest("'body' is required: the comment's text", {"body": "required, a string"})
    return jsonify(comment_service.add_comment(stagegate(), instance_id, g.api_user, body)), 201


@bp.get("/instances/<int:instance_id>/attachments")
def attachments(instance_id):
    """The deal's files (its tasks' too), oldest first; each downloads at /api/v1/attachments/ID."""
    return jsonify({"attachments": files.attachments(stagegate(), instance_id, g.api_user)})


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id):
    """One attachment's bytes, as a download (audited)."""
    return file_response(*files.download(stagegate(), store(), attachment_id, g.api_user))
