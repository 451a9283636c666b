"""Camunda 7's REST shape under /engine-rest, so Camunda's own external-task clients work unchanged.

Authentication: HTTP Basic with the user's name and one of their API tokens as the password
(the name must be the token's owner), or `Authorization: Bearer <token>`. Like /api/v1 it takes
no session cookie, hence no CSRF token. Errors are Camunda's {"type": ..., "message": ...} with
its status codes. The external-task routes are here; start-by-key and tasks in engine_rest_tasks.
"""
from __future__ import annotations

import base64
import binascii
import threading
import time
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest as UnusableBody

from engine.services import external_steps, external_tasks
from engine.errors import Conflict, FormInvalid, KeyReused, NotFound, Refused, StepFailed
from engine.services.external_sync import WAKE
from engine.limits import InputRefused
from engine.services.tokens import token_user

from .camunda_values import VariableRefused, plain_values, typed_all
from .context import stagegate
from .limits import json_body
from .security import csrf
from .turns import given_up

bp = Blueprint("engine_rest", __name__, url_prefix="/engine-rest")
csrf.exempt(bp)

MAX_ASYNC_RESPONSE_MS = 1_800_000  # Camunda's own bound on asyncResponseTimeout
POLL_SECONDS = 0.5  # how often a long poll looks for tasks other server processes opened
DEFAULT_LONG_POLLS = 8
_long_polls: dict[int, threading.BoundedSemaphore] = {}


class CamundaError(Exception):
    """An error answered as Camunda does: status, exception type and message."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def invalid(message: str) -> CamundaError:
    return CamundaError(400, "InvalidRequestException", message)


def camunda_time(text: str | None) -> str | None:
    """ISO text as Camunda writes dates: 2026-12-01T09:30:00.000+0000."""
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}" + dt.strftime("%z")


def _actor_from_header() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return token_user(stagegate(), credentials.strip())
    if scheme.lower() == "basic":
        try:
            name, _, token = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        owner = token_user(stagegate(), token)
        return owner if owner is not None and owner == name else None
    return None


@bp.before_request
def _authenticate():
    g.api_user = _actor_from_header()
    if g.api_user is None:
        response = jsonify({"type": "AuthenticationException",
                            "message": "authenticate with HTTP Basic (your user name, and an API token as the "
                                       "password) or 'Authorization: Bearer <token>'; the token may be revoked, "
                                       "mistyped, or not this user's"})
        response.headers["WWW-Authenticate"] = 'Basic realm="stagegate"'
        return response, 401
    if request.method in ("POST", "PUT") and request.content_length and request.mimetype != "application/json":
        raise CamundaError(415, "InvalidRequestException",
                           f"send the body as JSON with 'Content-Type: application/json' (not '{request.mimetype}')")
    return None


@bp.errorhandler(CamundaError)
def _camunda_error(exc: CamundaError):
    return jsonify({"type": exc.kind, "message": exc.message}), exc.status


@bp.errorhandler(NotFound)
def _not_found(exc):
    return jsonify({"type": "RestException", "message": str(exc)}), 404


@bp.errorhandler(external_tasks.LockHeld)
def _lock_held(exc):
    status = 400 if request.endpoint == "engine_rest.bpmn_error" else 500
    return jsonify({"type": "BadUserRequestException", "message": str(exc)}), status


@bp.errorhandler(Refused)
def _refused(exc):
    if isinstance(exc, Conflict):
        return jsonify({"type": "OptimisticLockingException", "message": str(exc)}), 409
    return jsonify({"type": "AuthorizationException", "message": str(exc)}), 403


@bp.errorhandler(StepFailed)
def _step_failed(exc):
    return jsonify({"type": "ProcessEngineException",
                    "message": f"{exc}; nothing was changed (incident {exc.incident_id} at {exc.element_id})"}), 500


@bp.errorhandler(FormInvalid)
def _form_invalid(exc):
    return jsonify({"type": "InvalidRequestException", "message": f"the variables do not pass the form: {exc}"}), 400


@bp.errorhandler(KeyReused)
@bp.errorhandler(VariableRefused)
@bp.errorhandler(ValueError)
@bp.errorhandler(InputRefused)
def _invalid(exc):
    return jsonify({"type": "InvalidRequestException", "message": str(exc)}), 400


def body() -> dict:
    """The request's JSON object; {} when none was sent (Camunda's unlock and claim may send nothing)."""
    try:
        data = json_body() if request.content_length or request.is_json else None
    except UnusableBody as exc:
        raise invalid(f"the body is not usable JSON: {exc.description}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data


def text(data: dict, name: str, required: bool = False, limit: int = 255) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"'{name}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(f"'{name}' must be text of at most {limit} characters")
    return value


def number(data: dict, name: str, default=None, required: bool = False):
    value = data.get(name, default)
    if value is None and required:
        raise invalid(f"'{name}' is required")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid(f"'{name}' must be a whole number")
    return value


def _topics(data: dict) -> list[dict]:
    topics = data.get("topics")
    if not isinstance(topics, list) or not topics:
        raise invalid("'topics' must be a list of {\"topicName\": ..., \"lockDuration\": ...}")
    out = []
    for t in topics[:100]:
        if not isinstance(t, dict):
            raise invalid("each topic must be an object with topicName and lockDuration")
        lock_ms = number(t, "lockDuration", required=True)
        names = t.get("variables")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            raise invalid("a topic's 'variables' must be a list of variable names")
        keys = t.get("processDefinitionKeyIn") or ([t["processDefinitionKey"]] if t.get("processDefinitionKey") else None)
        out.append({"topic": text(t, "topicName", required=True),
                     "lock": external_tasks.lock_duration(lock_ms, "lockDuration"),
                     "variables": names, "business_key": t.get("businessKey"), "process_keys": keys,
                     "local_variables": bool(t.get("localVariables"))})
    return out


def _locked_dto(item: dict) -> dict:
    row = item["row"]
    return {
        "activityId": row["element_id"], "activityInstanceId": row["id"], "id": row["id"],
        "errorMessage": row["error_message"], "errorDetails": row["error_details"], "executionId": row["id"],
        "lockExpirationTime": camunda_time(row["lock_expires_at"]), "createTime": camunda_time(row["created_at"]),
        "processDefinitionId": f"{row['process_id']}:{row['version']}", "processDefinitionKey": row["process_id"],
        "processDefinitionVersionTag": None, "processInstanceId": str(row["instance_id"]),
        "retries": row["retries"], "suspended": False, "workerId": row["worker_id"], "topicName": row["topic"],
        "tenantId": None, "priority": row["priority"], "businessKey": item["instance"]["business_key"],
        "variables": typed_all(item["variables"]), "extensionProperties": {},
    }


def _slots() -> threading.BoundedSemaphore:
    # Long polls may hold only some of the server's threads: the rest answer completions and pages.
    n = int(current_app.config.get("LONG_POLL_SLOTS") or DEFAULT_LONG_POLLS)
    return _long_polls.setdefault(n, threading.BoundedSemaphore(n))


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock():
    """Lock tasks of the topics for the worker; with asyncResponseTimeout, wait up to that long for one."""
    data = body()
    worker = text(data, "workerId", required=True)
    max_tasks = number(data, "maxTasks", required=True)
    wait_ms = number(data, "asyncResponseTimeout", default=0) or 0
    if wait_ms > MAX_ASYNC_RESPONSE_MS or wait_ms < 0:
        raise invalid(f"The asynchronous response timeout cannot be set to a value greater than "
                      f"{MAX_ASYNC_RESPONSE_MS} milliseconds")
    topics = _topics(data)
    use_priority = bool(data.get("usePriority"))

    def fetch():
        return external_tasks.fetch_and_lock(stagegate(), g.api_user, worker, topics, max_tasks, use_priority)

    found = fetch()
    if not found and wait_ms:
        slots = _slots()
        if slots.acquire(blocking=False):  # no slot free: answer now, the client asks again
            try:
                deadline = time.monotonic() + wait_ms / 1000
                while not found and (left := deadline - time.monotonic()) > 0:
                    with given_up(), WAKE:  # the process's other requests run meanwhile
                        WAKE.wait(min(POLL_SECONDS, left))
                    found = fetch()
            finally:
                slots.release()
    return jsonify([_locked_dto(item) for item in found])


def _vars(data: dict, name: str = "variables") -> dict:
    return plain_values(data.get(name), name)


@bp.post("/external-task/<task_id>/complete")
def complete(task_id):
    """The worker finished the task: its variables join the deal and the deal moves on."""
    data = body()
    external_steps.complete_external_task(stagegate(), g.api_user, task_id, text(data, "workerId", required=True),
                                          _vars(data), _vars(data, "localVariables"))
    return "", 204


@bp.post("/external-task/<task_id>/failure")
def failure(task_id):
    """The worker could not do the task now: retries and retryTimeout say when it is fetched again."""
    data = body()
    retries = number(data, "retries", default=0)
    external_tasks.report_failure(stagegate(), g.api_user, task_id, text(data, "workerId", required=True),
                                  text(data, "errorMessage", limit=10_000), text(data, "errorDetails", limit=100_000),
                                  retries, number(data, "retryTimeout", default=0))
    return "", 204


@bp.post("/external-task/<task_id>/bpmnError")
def bpmn_error(task_id):
    """A business error: the error boundary event for its code takes the flow (else an incident opens)."""
    data = body()
    external_steps.report_bpmn_error(stagegate(), g.api_user, task_id, text(data, "workerId", required=True),
                                     text(data, "errorCode", required=True), text(data, "errorMessage", limit=10_000),
                                     _vars(data))
    return "", 204


@bp.post("/external-task/<task_id>/extendLock")
def extend_lock(task_id):
    """More time for the worker's lock, counted from now."""
    data = body()
    external_tasks.extend_lock(stagegate(), g.api_user, task_id, text(data, "workerId", required=True),
                               number(data, "newDuration", required=True))
    return "", 204


@bp.post("/external-task/<task_id>/lock")
def lock(task_id):
    """Lock one task by id for the worker."""
    data = body()
    external_tasks.lock(stagegate(), g.api_user, task_id, text(data, "workerId", required=True),
                        number(data, "lockDuration", required=True))
    return "", 204


@bp.post("/external-task/<task_id>/unlock")
def unlock(task_id):
    """Free the task at once for any worker (no body)."""
    external_tasks.unlock(stagegate(), g.api_user, task_id)
    return "", 204


@bp.put("/external-task/<task_id>/retries")
def set_retries(task_id):
    """Give the task retries again (resolves its incident when above 0)."""
    external_tasks.set_retries(stagegate(), g.api_user, task_id, number(body(), "retries", required=True))
    return "", 204


def _task_dto(row: dict) -> dict:
    return {"id": row["id"], "topicName": row["topic"], "workerId": row["worker_id"],
            "lockExpirationTime": camunda_time(row["lock_expires_at"]), "createTime": camunda_time(row["created_at"]),
            "activityId": row["element_id"], "activityInstanceId": row["id"], "executionId": row["id"],
            "processInstanceId": str(row["instance_id"]), "processDefinitionId": f"{row['process_id']}:{row['version']}",
            "processDefinitionKey": row["process_id"], "retries": row["retries"], "errorMessage": row["error_message"],
            "suspended": False, "priority": row["priority"], "tenantId": None, "businessKey": row["business_key"]}


@bp.get("/external-task")
def list_tasks():
    """Waiting external tasks: topicName, workerId, processInstanceId, activityId filters."""
    args = request.args
    instance = args.get("processInstanceId")
    rows = external_tasks.list_external_tasks(
        stagegate(), g.api_user, topic=args.get("topicName"), worker_id=args.get("workerId"),
        element_id=args.get("activityId"), instance_id=int(instance) if instance and instance.isdigit() else None)
    return jsonify([_task_dto(r) for r in rows])


@bp.get("/external-task/<task_id>")
def get_task(task_id):
    """One waiting external task."""
    return jsonify(_task_dto(external_tasks.get_external_task(stagegate(), g.api_user, task_id)))


from . import engine_rest_tasks  # noqa: E402,F401 - registers start-by-key and the task routes on bp
from . import engine_rest_messages  # noqa: E402,F401 - registers POST /message on bp
