"""The rest of the Camunda 7 REST subset integrations use: start a process by key, list, claim and complete
user tasks. The same services, role checks and audit as the pages and /api/v1."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.queries import inbox as inbox_queries
from engine.queries import records as queries
from engine.services.claims import claim_task
from engine.services.instances import complete_task, start_instance

from .camunda_values import plain_values, typed_all
from .context import stagegate
from .engine_rest import CamundaError, body, bp, camunda_time, invalid, text


@bp.get("/engine")
def engines():
    """The one engine (Camunda's clients and tools ask for the list)."""
    return jsonify([{"name": "default"}])


@bp.get("/version")
def version():
    """The REST API's version as Camunda reports it: the Camunda 7 REST shape this subset follows."""
    return jsonify({"version": "7.22.0"})


@bp.post("/process-definition/key/<key>/start")
def start_by_key(key):
    """Start the newest version of process `key` with typed variables as the start form's data, and
    `businessKey` as the deal's business key (Camunda's clients then see it on the deal's external tasks)."""
    data = body()
    result = start_instance(stagegate(), key, g.api_user, plain_values(data.get("variables")),
                            business_key=text(data, "businessKey"))
    return jsonify({"id": str(result["id"]), "definitionId": f"{result['process_id']}:{result['version']}",
                    "businessKey": result["business_key"], "caseInstanceId": None, "tenantId": None,
                    "ended": result["status"] == "completed", "suspended": False, "links": []})


def _task_dto(t: dict) -> dict:
    return {"id": t["id"], "name": t["name"], "assignee": t["claimed_by"], "owner": None,
            "created": camunda_time(t["created_at"]), "due": camunda_time(t["due_at"]),
            "followUp": camunda_time(t["follow_up_at"]),
            "lastUpdated": None, "delegationState": None, "description": None, "executionId": t["id"],
            "parentTaskId": None, "priority": 50, "processDefinitionId": t["process_id"],
            "processInstanceId": str(t["instance_id"]), "taskDefinitionKey": t["element_id"],
            "caseExecutionId": None, "caseInstanceId": None, "caseDefinitionId": None, "suspended": False,
            "formKey": None, "camundaFormRef": None, "tenantId": None}


@bp.get("/task")
def task_list():
    """Ready user tasks the caller may work: processInstanceId, processInstanceBusinessKey, taskDefinitionKey,
    assignee, candidateGroup, processDefinitionKey filters (Camunda's task has no business key field itself)."""
    args = request.args
    found = inbox_queries.inbox(stagegate(), g.api_user, process=args.get("processDefinitionKey"),
                                role=args.get("candidateGroup"))["tasks"]
    wanted = {"processInstanceId": lambda t: str(t["instance_id"]), "taskDefinitionKey": lambda t: t["element_id"],
              "assignee": lambda t: t["claimed_by"], "processInstanceBusinessKey": lambda t: t["business_key"]}
    for name, value_of in wanted.items():
        if args.get(name) is not None:
            found = [t for t in found if value_of(t) == args[name]]
    return jsonify([_task_dto(t) for t in found])


@bp.post("/task/<task_id>/claim")
def claim_task_route(task_id):
    """Claim the task for the caller (Camunda's userId must be the caller: nobody claims for someone else)."""
    user_id = text(body(), "userId", required=True)
    if user_id != g.api_user:
        raise CamundaError(403, "AuthorizationException",
                           f"{g.api_user} may claim tasks only for themselves, not for '{user_id}'")
    claim_task(stagegate(), task_id, g.api_user)
    return "", 204


@bp.post("/task/<task_id>/complete")
def complete_task_route(task_id):
    """Complete the task with typed variables as its form's values."""
    data = body()
    if not isinstance(data.get("variables", {}), dict):
        raise invalid("'variables' must be an object")
    result = complete_task(stagegate(), task_id, g.api_user, plain_values(data.get("variables")))
    if data.get("withVariablesInReturn"):
        return jsonify(typed_all(queries.instance(stagegate(), result["id"])["data"]))
    return "", 204
