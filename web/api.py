"""The JSON API for CRM integration (/api/v1): the same services, role checks and audit as the pages.

Requests authenticate with a user's API token (`Authorization: Bearer sgt_...`) and act as
that user. The API accepts no session cookie, so a browser cannot be tricked into calling
it: that is why, and only because of that, its routes are exempt from the CSRF check.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import BadRequest as UnusableBody

from engine.queries import audit_log, records as queries, views
from engine.queries import inbox as inbox_queries
from engine.services.claims import claim_task
from engine.errors import Conflict, FormInvalid, KeyReused, NotFound, Refused, StepFailed
from engine.services.instances import complete_task, start_instance
from engine.services.messages import correlate_message
from engine.limits import InputRefused, text_value
from engine.services.tokens import token_user

from . import query
from .context import stagegate
from .limits import json_body
from .openapi import document
from .security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PUBLIC = {"api.openapi"}


class BadRequest(Exception):
    """The request body or query is not what the endpoint takes; `errors` names the fields."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.errors = errors or {}


def error(status: int, message: str, **extra):
    """A JSON error response: {"error": message, ...}."""
    return jsonify({"error": message, **extra}), status


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response, status = error(401, "send an API token: 'Authorization: Bearer <token>' "
                                      "(create one on your account's API tokens page or with `stagegate token create`)")
    else:
        g.api_user = token_user(stagegate(), token.strip())
        if g.api_user is not None:
            return None
        response, status = error(401, "this API token is not valid: it was revoked, mistyped, or its user "
                                      "is no longer active")
    response.headers["WWW-Authenticate"] = 'Bearer realm="stagegate"'
    return response, status


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return error(400, str(exc), errors=exc.errors)


@bp.errorhandler(FormInvalid)
def _form_invalid(exc: FormInvalid):
    return error(400, "the data does not pass the form; nothing was changed", errors=exc.errors)


@bp.errorhandler(StepFailed)
def _step_failed(exc: StepFailed):
    return error(422, f"{exc}; nothing was changed", incident_id=exc.incident_id, element_id=exc.element_id)


@bp.errorhandler(KeyReused)
def _key_reused(exc: KeyReused):
    return error(422, str(exc))


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return error(404, str(exc))


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    # A Conflict is a Refused that went stale: someone else changed the deal first.
    return error(409 if isinstance(exc, Conflict) else 403, str(exc))


def _body() -> dict:
    try:
        body = json_body()
    except UnusableBody as exc:  # not JSON, or past a bound of the JSON reader: which one
        raise BadRequest(f"the body must be a JSON object: {exc.description}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object, sent with 'Content-Type: application/json'")
    return body


def _data(body: dict) -> dict:
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise BadRequest("'data' must be a JSON object of form values", {"data": "must be an object"})
    return data


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(document())


@bp.post("/instances")
def start():
    """Start a deal with {"process_id", "data", "business_key"}; "data" holds the start form's values, or
    any variables when the start event has no form. An Idempotency-Key header makes a retried request
    return the first deal."""
    body = _body()
    process_id = body.get("process_id")
    if not isinstance(process_id, str) or not process_id:
        raise BadRequest("'process_id' is required: the id of a deployed process",
                         {"process_id": "required, a non-empty string"})
    try:
        text_value(process_id, "process_id")
    except InputRefused as exc:
        raise BadRequest(str(exc), {"process_id": exc.reason}) from None
    key = request.headers.get("Idempotency-Key")
    result = start_instance(stagegate(), process_id, g.api_user, _data(body), idempotency_key=key,
                            business_key=body.get("business_key"))
    replayed = result.pop("replayed", False)
    response = jsonify(result)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


@bp.get("/instances/<int:instance_id>")
def instance(instance_id):
    """A deal: status, stage, data, open tasks and gate decisions (if the user may see it)."""
    deal = views.deal(stagegate(), instance_id, g.api_user, with_history=False)
    return jsonify(deal | {"gate_decisions": views.gate_decisions(stagegate(), g.api_user, instance_id=instance_id)})


@bp.get("/instances/<int:instance_id>/history")
def history(instance_id):
    """A deal's audit events, in order; `actor` keeps those by a user and the engine's steps on their input."""
    events = views.deal(stagegate(), instance_id, g.api_user)["history"]
    actor = query.text("actor")
    return jsonify({"events": [e for e in events if actor is None or queries.involves(e, actor)]})


@bp.get("/audit-events")
def audit_events():
    """The audit log across deals, for auditors: the /audit page's filters and pages of 50."""
    try:
        chosen = audit_log.log_filter(**{k: request.args.get(k) for k in audit_log.FILTERS})
    except FormInvalid as exc:
        raise BadRequest("the filter cannot be used; nothing is listed", exc.errors) from None
    found = audit_log.search(stagegate(), g.api_user, chosen, query.number("page", 1) or 1)
    return jsonify({"events": found.pop("rows"), **found})


@bp.get("/tasks")
def tasks():
    """The ready tasks of the user's roles, narrowed by process, role or stage."""
    result = inbox_queries.inbox(stagegate(), g.api_user, process=query.text("process"), role=query.text("role"),
                                 stage=query.text("stage"))
    return jsonify({"tasks": result["tasks"]})


@bp.post("/tasks/<task_id>/claim")
def claim(task_id):
    """Take a task so that only the user works it."""
    return jsonify(claim_task(stagegate(), task_id, g.api_user))


@bp.post("/tasks/<task_id>/complete")
def complete(task_id):
    """Complete a task with {"data": {...}}: its form's values, or any variables when it has no form;
    returns the deal's new state."""
    return jsonify(complete_task(stagegate(), task_id, g.api_user, _data(_body())))


@bp.get("/gate-decisions")
def gate_decisions():
    """Gate decisions on the deals the user may see, narrowed by instance, process, gate or outcome."""
    rows = views.gate_decisions(stagegate(), g.api_user, instance_id=query.number("instance_id"),
                                process_id=query.text("process_id"), gate=query.text("gate"),
                                outcome=query.text("outcome"))
    return jsonify({"gate_decisions": rows})


MESSAGE_FIELDS = {"name", "business_key", "correlation_keys", "variables", "all", "message_id"}


@bp.post("/messages")
def message():
    """Deliver a message to the deal(s) waiting for it, or start a deal at its message start event.

    {"name", "business_key"?, "correlation_keys"?, "variables"?, "all"?, "message_id"?}; the
    Idempotency-Key header stands for message_id. 404: nobody waits; 409: several do (send "all")."""
    body = _body()
    unknown = sorted(set(body) - MESSAGE_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; a message takes {', '.join(sorted(MESSAGE_FIELDS))}",
                         {k: "unknown field" for k in unknown})
    if not isinstance(body.get("all", False), bool):
        raise BadRequest("'all' must be true or false", {"all": "must be a boolean"})
    result = correlate_message(stagegate(), body.get("name"), g.api_user, business_key=body.get("business_key"),
                               correlation_keys=body.get("correlation_keys"), variables=body.get("variables"),
                               all=body.get("all", False),
                               message_id=body.get("message_id", request.headers.get("Idempotency-Key")))
    replayed = result.pop("replayed", False)
    response = jsonify(result)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


from . import api_deal_files  # noqa: E402,F401 - its comment and attachment routes join bp
