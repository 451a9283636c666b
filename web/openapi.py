"""The OpenAPI 3 description of the JSON API, served at /api/v1/openapi.json."""
from __future__ import annotations

NULLABLE_STRING = {"type": "string", "nullable": True}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "The body or a parameter is not valid; `errors` names the fields.",
            401: "No API token, or one that is revoked or unknown.",
            403: "The user's roles do not allow this.",
            404: "No such deal or task.",
            409: "The task or deal moved on meanwhile (completed, claimed by someone else).",
            413: "The body is larger than 1 MB (also when sent chunked).",
            422: "The step failed (an incident was recorded) or the idempotency key was reused."}
    return {str(c): _json(_ref("Error"), text[c]) for c in (401, *codes)}


TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
# A name or id to filter by: up to 255 characters, no control characters (else 400).
FILTER = {"type": "string", "maxLength": 255}
INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}}
ACTOR = {"name": "actor", "in": "query", "required": False, "schema": FILTER}
ACTOR_TEXT = "Only the events by this user and the engine's steps taken on their input (on_behalf_of)."

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        "incident_id": {"type": "integer", "nullable": True}}},
    "ReadyTask": {"type": "object", "required": ["id", "element_id", "name", "role"], "properties": {
        "id": {"type": "string"}, "element_id": {"type": "string"}, "name": NULLABLE_STRING,
        "role": {"type": "string"}}},
    "Outcome": {"type": "object", "required": ["kind", "text"],
                "description": "How the deal stands, derived from its gate decisions and the end event it reached.",
                "properties": {
        "kind": {"type": "string", "example": "killed",
                 "description": "open while it runs; once ended: killed (its last gate decision was a kill), "
                                "the word its end event declares (won, lost), or ended"},
        "gate": {**NULLABLE_STRING, "description": "The gate that killed it."},
        "stage": {**NULLABLE_STRING, "description": "The killing gate's stage."},
        "reason": {**NULLABLE_STRING, "description": "Why the gate killed it (the rule's or the gatekeeper's words)."},
        "end_event": {**NULLABLE_STRING, "description": "Id of the end event reached."},
        "end_event_name": NULLABLE_STRING,
        "text": {"type": "string", "example": "killed at the Qualification gate: annual revenue $30MM is below $50MM"}}},
    "InstanceSummary": {"type": "object", "required": ["id", "process_id", "version", "status", "outcome",
                                                        "ready_tasks"],
                        "properties": {
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "version": {"type": "integer"},
        "title": NULLABLE_STRING, "business_key": NULLABLE_STRING,
        "status": {"type": "string", "enum": ["running", "completed", "error"]},
        "stage": NULLABLE_STRING, "ended_at_element": NULLABLE_STRING, "outcome": _ref("Outcome"),
        "ready_tasks": {"type": "array", "items": _ref("ReadyTask")},
        "opened": {"type": "array", "items": _ref("ReadyTask"),
                   "description": "After completing a task: the tasks that step opened, in diagram order."},
        "still_open": {"type": "array", "items": _ref("ReadyTask"),
                       "description": "After completing a task: the tasks that were open before and still are."},
        "waiting": {"type": "array", "description": "After completing a task: what else the deal waits for.",
                    "items": {"type": "object", "properties": {
                        "kind": {"type": "string", "enum": ["message", "timer", "worker"]},
                        "name": {"type": "string"}, "due_at": NULLABLE_STRING}}}}},
    "Task": {"type": "object", "required": ["id", "instance_id", "process_id", "name", "role"], "properties": {
        "id": {"type": "string"}, "instance_id": {"type": "integer"}, "process_id": {"type": "string"},
        "element_id": {"type": "string"}, "name": NULLABLE_STRING, "role": {"type": "string"},
        "stage": NULLABLE_STRING, "deal": NULLABLE_STRING, "created_at": NULLABLE_STRING,
        "due_at": NULLABLE_STRING, "overdue": {"type": "boolean"}, "claimed_by": NULLABLE_STRING,
        "follow_up_at": {**NULLABLE_STRING, "description": "When to look at it again (camunda:followUpDate); "
                         "not a deadline."},
        "follow_up": {"type": "boolean", "description": "Past its follow-up date and not overdue."},
        "available": {"type": "boolean"},
        "candidate_users": {"type": "array", "items": {"type": "string"},
                            "description": "Users who may work it besides the holders of its roles."},
        "may_work": {"type": "boolean", "description": "The user holds one of its roles or is a candidate user "
                     "(or, for a task open to anyone, holds a working role)."},
        "open_to_anyone": {"type": "boolean", "description": "It names no role and no candidate user: any staff "
                           "member may claim it, as in Camunda."},
        "oversees": {"type": "boolean", "description": "The user heads the department of one of its roles."}}},
    "Claim": {"type": "object", "required": ["id", "claimed_by"], "properties": {
        "id": {"type": "string"}, "claimed_by": NULLABLE_STRING, "claimed_at": NULLABLE_STRING}},
    "GateDecision": {"type": "object", "required": ["id", "instance_id", "gate", "outcome"], "properties": {
        "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "process_id": {"type": "string"},
        "version": {"type": "integer"}, "gate": {"type": "string"}, "element_id": {"type": "string"},
        "stage": NULLABLE_STRING, "outcome": {"type": "string"}, "inputs": {"type": "object"},
        "decided_by": {"type": "object"}, "reason": NULLABLE_STRING, "decided_at": {"type": "string"}}},
    "Instance": {"type": "object", "required": ["id", "process_id", "status", "outcome", "data", "ready_tasks"],
                 "properties": {
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "version": {"type": "integer"},
        "title": NULLABLE_STRING, "business_key": NULLABLE_STRING, "status": {"type": "string"},
        "outcome": _ref("Outcome"), "stage": NULLABLE_STRING, "data": {"type": "object"}, "started_at": {"type": "string"}, "started_by": {"type": "string"},
        "ended_at": NULLABLE_STRING, "ended_at_element": NULLABLE_STRING,
        "open_incidents": {"type": "array", "items": {"type": "object"}},
        "ready_tasks": {"type": "array", "items": {"type": "object"}},
        "gate_decisions": {"type": "array", "items": _ref("GateDecision")}}},
    "Event": {"type": "object", "required": ["seq", "at", "actor", "kind"], "properties": {
        "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
        "on_behalf_of": {**NULLABLE_STRING, "description": "For the engine's steps: the user whose input it acted on "
                                                           "(or the timer worker)."},
        "kind": {"type": "string"}, "instance_id": {"type": "integer", "nullable": True},
        "process_id": NULLABLE_STRING, "version": {"type": "integer", "nullable": True},
        "element_id": NULLABLE_STRING, "details": {"type": "object"}}},
    "StartRequest": {"type": "object", "required": ["process_id"], "properties": {
        "process_id": {"type": "string", "minLength": 1, "example": "opportunity"},
        "data": {"type": "object", "description": "Start form values; any variables when the start event has "
                                                  "no form (names a diagram can read, 256 KB at most)."},
        "business_key": {"type": "string", "minLength": 1, "maxLength": 255,
                         "description": "Your own reference for the deal (a CRM or ERP id); shown and searchable."}}},
    "MessageRequest": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "minLength": 1, "example": "contract signed",
                 "description": "The name of the bpmn:message the deal waits for."},
        "business_key": {"type": "string", "description": "The deal's business key, or its number: only that deal."},
        "correlation_keys": {"type": "object", "description": "Only deals whose data hold these values."},
        "variables": {"type": "object", "description": "Set on the deal when the message is caught."},
        "all": {"type": "boolean", "default": False, "description": "Deliver to every waiting deal."},
        "message_id": {"type": "string", "maxLength": 240,
                       "description": "A retry with the same id returns the first delivery (Idempotent-Replayed)."}}},
    "MessageResult": {"type": "object", "required": ["message", "correlations"], "properties": {
        "message": {"type": "string"}, "message_id": NULLABLE_STRING,
        "correlations": {"type": "array", "items": {"type": "object", "properties": {
            "instance_id": {"type": "integer"}, "started": {"type": "boolean"},
            "element_ids": {"type": "array", "items": {"type": "string"}}, "status": {"type": "string"}}}}}},
    "Comment": {"type": "object", "required": ["id", "instance_id", "author", "body", "mentions", "at"], "properties": {
        "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "author": {"type": "string"},
        "body": {"type": "string"}, "at": {"type": "string"},
        "mentions": {"type": "array", "items": {"type": "string"}, "description": "The users it notified."},
        "not_notified": {"type": "array", "items": {"type": "string"},
                         "description": "On a new comment: @names that are no user or may not see the deal."}}},
    "CommentRequest": {"type": "object", "required": ["body"], "properties": {
        "body": {"type": "string", "minLength": 1, "maxLength": 5000, "example": "@fiona can we hold this price?"}}},
    "Attachment": {"type": "object", "required": ["id", "instance_id", "file_name", "content_type", "size"],
                   "properties": {
        "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "task_id": NULLABLE_STRING,
        "file_name": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer"},
        "sha256": {"type": "string"}, "uploaded_by": {"type": "string"}, "at": {"type": "string"}}},
    "CompleteRequest": {"type": "object", "properties": {
        "data": {"type": "object", "description": "Form values of the task; any variables when it has no form."}}},
}


def _list(key: str, item: str, description: str) -> dict:
    return _json({"type": "object", "required": [key], "properties": {key: {"type": "array", "items": _ref(item)}}},
                 description)


PATHS = {
    "/api/v1/openapi.json": {"get": {
        "summary": "This document", "operationId": "openapi", "security": [],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/api/v1/instances": {"post": {
        "summary": "Start a deal", "operationId": "startInstance",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "A retried request with the same key and body returns the first deal "
                                       "(header Idempotent-Replayed: true); the same key with another body is 422."}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("StartRequest")}}},
        "responses": {"201": _json(_ref("InstanceSummary"), "The deal started (or the first one, on a retry)."),
                      **_errors(400, 403, 404, 413, 422)}}},
    "/api/v1/instances/{instance_id}": {"get": {
        "summary": "A deal with its open tasks and gate decisions", "operationId": "getInstance",
        "parameters": [INSTANCE_ID],
        "responses": {"200": _json(_ref("Instance"), "The deal."), **_errors(403, 404)}}},
    "/api/v1/instances/{instance_id}/history": {"get": {
        "summary": "A deal's audit events", "operationId": "getInstanceHistory",
        "parameters": [INSTANCE_ID, {**ACTOR, "description": ACTOR_TEXT}],
        "responses": {"200": _list("events", "Event", "The audit events, oldest first."), **_errors(400, 403, 404)}}},
    "/api/v1/audit-events": {"get": {
        "summary": "The audit log across deals (auditors)", "operationId": "listAuditEvents",
        "parameters": [{**ACTOR, "description": ACTOR_TEXT},
                       *({"name": n, "in": "query", "required": False, "schema": FILTER}
                         for n in ("process_id", "kind", "outcome", "business_key")),
                       {"name": "version", "in": "query", "required": False, "schema": {"type": "integer"}},
                       *({"name": n, "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                          "description": "YYYY-MM-DD, the whole day included"} for n in ("since", "until")),
                       {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}}],
        "responses": {"200": _json({"type": "object", "required": ["events", "total", "page", "pages"], "properties": {
            "events": {"type": "array", "items": _ref("Event")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "pages": {"type": "integer"}}}, "50 matching events a page, oldest first."),
            **_errors(400, 403)}}},
    "/api/v1/instances/{instance_id}/comments": {
        "get": {"summary": "A deal's comments", "operationId": "listComments", "parameters": [INSTANCE_ID],
                "responses": {"200": _list("comments", "Comment", "Oldest first."), **_errors(403, 404)}},
        "post": {"summary": "Comment on a deal (@name notifies)", "operationId": "addComment",
                 "parameters": [INSTANCE_ID],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CommentRequest")}}},
                 "responses": {"201": _json(_ref("Comment"), "The comment, with whom it notified."),
                               **_errors(400, 403, 404, 413)}}},
    "/api/v1/instances/{instance_id}/attachments": {"get": {
        "summary": "A deal's attachments (its tasks' too)", "operationId": "listAttachments",
        "parameters": [INSTANCE_ID],
        "responses": {"200": _list("attachments", "Attachment", "Oldest first."), **_errors(403, 404)}}},
    "/api/v1/attachments/{attachment_id}": {"get": {
        "summary": "Download an attachment", "operationId": "downloadAttachment",
        "parameters": [{"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The file (Content-Disposition: attachment; X-Content-Type-Options: "
                                             "nosniff), with the type its content was checked to be.",
                              "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                      **_errors(403, 404)}}},
    "/api/v1/tasks": {"get": {
        "summary": "My ready tasks", "operationId": "listTasks",
        "parameters": [{"name": n, "in": "query", "required": False, "schema": FILTER}
                       for n in ("process", "role", "stage")],
        "responses": {"200": _list("tasks", "Task", "Ready tasks of the user's roles."), **_errors(400, 404)}}},
    "/api/v1/tasks/{task_id}/claim": {"post": {
        "summary": "Claim a task", "operationId": "claimTask", "parameters": [TASK_ID],
        "responses": {"200": _json(_ref("Claim"), "The task is the user's."), **_errors(403, 404, 409)}}},
    "/api/v1/tasks/{task_id}/complete": {"post": {
        "summary": "Complete a task", "operationId": "completeTask", "parameters": [TASK_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CompleteRequest")}}},
        "responses": {"200": _json(_ref("InstanceSummary"), "The deal after the step."),
                      **_errors(400, 403, 404, 409, 413, 422)}}},
    "/api/v1/messages": {"post": {
        "summary": "Send a message to the deal waiting for it", "operationId": "correlateMessage",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "maxLength": 240}, "description": "Stands for message_id."}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("MessageRequest")}}},
        "responses": {"200": _json(_ref("MessageResult"), "The deals the message reached (or the one it started)."),
                      **_errors(400, 403, 404, 409, 413, 422)}}},
    "/api/v1/gate-decisions": {"get": {
        "summary": "Gate decisions on the deals I may see", "operationId": "listGateDecisions",
        "parameters": [{"name": "instance_id", "in": "query", "required": False, "schema": {"type": "integer"}},
                       *({"name": n, "in": "query", "required": False, "schema": FILTER}
                         for n in ("process_id", "gate", "outcome"))],
        "responses": {"200": _list("gate_decisions", "GateDecision", "Oldest first."), **_errors(400)}}},
}


def document() -> dict:
    """The whole OpenAPI 3 document."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Stagegate API", "version": "1",
                 "description": "Start deals, work tasks and read gate decisions as a Stagegate user. "
                                "Every call acts as the token's user, with that user's roles, and is audited."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": PATHS,
    }
