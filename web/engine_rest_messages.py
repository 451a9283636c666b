"""Camunda 7's `POST /engine-rest/message`: correlate a message to the deal waiting for it, or start one at
its message start event. The same use case as POST /api/v1/messages (engine.services.messages), in
Camunda's shape: typed variables in, 204 or a list of correlation results out, and 400 (Camunda's
MismatchingMessageCorrelationException) when no deal or more than one matches without `all`."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.errors import NotFound
from engine.queries import records as queries
from engine.services.messages import Ambiguous, correlate_message

from .camunda_values import plain_values, typed_all
from .context import stagegate
from .engine_rest import CamundaError, body, bp, invalid, text

# Camunda's fields this subset does not take: refused by name rather than silently ignored.
UNSUPPORTED = {
    "processInstanceId": "address the deal by businessKey: its business key, or its number (e.g. \"42\")",
    "localCorrelationKeys": "use correlationKeys: a deal's data has no local scopes to match",
    "processVariablesLocal": "use processVariables",
    "processVariablesToTriggeredScope": "use processVariables",
    "startVariables": "use processVariables",
    "tenantId": "Stagegate has no tenants",
}


def _flag(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be true or false")
    return value


def _result(c: dict, with_variables: bool) -> dict:
    iid = str(c["instance_id"])
    if c["started"]:
        out = {"resultType": "ProcessDefinition", "execution": None,
               "processInstance": {"id": iid, "definitionId": f"{c['process_id']}:{c['version']}",
                                   "businessKey": c["business_key"], "caseInstanceId": None,
                                   "ended": c["status"] != "running", "suspended": False, "tenantId": None,
                                   "links": []}}
    else:
        # An execution is the deal at the element that caught the message.
        out = {"resultType": "Execution", "processInstance": None,
               "execution": {"id": f"{iid}:{(c['element_ids'] or ['?'])[0]}", "processInstanceId": iid,
                             "ended": c["status"] != "running", "tenantId": None}}
    if with_variables:
        out["variables"] = typed_all(queries.instance(stagegate(), c["instance_id"])["data"])
    return out


@bp.post("/message")
def correlate():
    """Deliver the message `messageName` (narrowed by businessKey and correlationKeys) with processVariables."""
    data = body()
    name = text(data, "messageName", required=True)
    for field, instead in UNSUPPORTED.items():
        if data.get(field) not in (None, {}, []):
            raise invalid(f"'{field}' is not supported here: {instead}")
    all_, with_result, with_variables = (_flag(data, "all"), _flag(data, "resultEnabled"),
                                         _flag(data, "variablesInResultEnabled"))
    try:
        result = correlate_message(
            stagegate(), name, g.api_user, business_key=text(data, "businessKey"),
            correlation_keys=plain_values(data.get("correlationKeys"), "correlationKeys"),
            variables=plain_values(data.get("processVariables"), "processVariables"), all=all_,
            message_id=request.headers.get("Idempotency-Key"))
    except (NotFound, Ambiguous) as exc:
        raise CamundaError(400, "RestException", f"Cannot correlate message '{name}': {exc}") from None
    if not with_result:  # Camunda returns variables only with the results
        return "", 204
    return jsonify([_result(c, with_variables) for c in result["correlations"]])
