"""Camunda 7's POST /engine-rest/message and business keys on the Camunda REST subset: a message reaches the
deal waiting for it (Camunda's 400 when none or several match), and a business key given at start-by-key
comes back on the deal's external tasks."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from tests.message_diagrams import contract, lead

from .conftest import fetch, start_quote


@pytest.fixture
def waiting(sg, staff, rest):
    """Two contracts sent by Legal (Acme with business key CRM-1), each waiting for "contract signed"."""
    staff({"lou": ["Legal"]})
    deploy(sg, [("contract.bpmn", contract()), ("lead.bpmn", lead())], actor="cli:test")
    deals = []
    for customer, key in (("Acme", "CRM-1"), ("Bolt", None)):
        iid = start_instance(sg, "contract", "lou", {"customer": customer}, business_key=key)["id"]
        complete_task(sg, queries.ready_tasks(sg, instance_id=iid)[0]["id"], "lou", {})
        deals.append(iid)
    return deals


def signed(**extra):
    return {"messageName": "contract signed", **extra}


def test_a_message_with_a_business_key_reaches_its_deal_and_sets_its_variables(sg, rest, waiting):
    acme, bolt = waiting
    erp = rest("erp")
    r = erp("POST", "/message", signed(businessKey="CRM-1",
                                       processVariables={"signed_by": {"value": "Jane", "type": "String"}}))
    assert r.status_code == 204 and r.data == b""
    assert queries.instance(sg, acme)["status"] == "completed"
    assert queries.instance(sg, acme)["data"]["signed_by"] == "Jane"
    assert queries.instance(sg, bolt)["status"] == "running"


def test_the_result_says_which_execution_caught_it_with_its_variables_when_asked(sg, rest, waiting):
    acme, bolt = waiting
    r = rest("erp")("POST", "/message", signed(businessKey=str(bolt), resultEnabled=True,
                                               variablesInResultEnabled=True,
                                               processVariables={"pages": {"value": 3, "type": "Integer"}}))
    assert r.status_code == 200, r.get_json()
    [hit] = r.get_json()
    assert hit["resultType"] == "Execution" and hit["processInstance"] is None
    assert hit["execution"] == {"id": f"{bolt}:Signed", "processInstanceId": str(bolt), "ended": True,
                                "tenantId": None}
    assert hit["variables"]["pages"] == {"type": "Integer", "value": 3, "valueInfo": {}}
    assert hit["variables"]["customer"]["value"] == "Bolt"


def test_a_message_start_event_answers_with_the_process_instance_it_started(sg, rest, waiting):
    r = rest("erp")("POST", "/message", {"messageName": "web lead", "resultEnabled": True,
                                         "processVariables": {"company": {"value": "Cobalt"}}})
    assert r.status_code == 200, r.get_json()
    [hit] = r.get_json()
    assert hit["resultType"] == "ProcessDefinition" and hit["execution"] is None
    started = hit["processInstance"]
    assert started["definitionId"] == "lead:1" and started["ended"] is False
    assert queries.instance(sg, int(started["id"]))["data"]["company"] == "Cobalt"


def test_no_match_and_several_without_all_are_camundas_400_and_change_nothing(sg, rest, waiting):
    acme, bolt = waiting
    erp = rest("erp")
    r = erp("POST", "/message", signed(businessKey="CRM-404"))
    assert r.status_code == 400 and r.get_json()["type"] == "RestException"
    assert r.get_json()["message"].startswith("Cannot correlate message 'contract signed': no running deal waits")
    r = erp("POST", "/message", signed())
    assert r.status_code == 400 and r.get_json()["type"] == "RestException"
    assert "2 deals wait" in r.get_json()["message"]
    assert [queries.instance(sg, i)["status"] for i in waiting] == ["running", "running"]
    r = erp("POST", "/message", signed(correlationKeys={"customer": {"value": "Bolt", "type": "String"}},
                                       resultEnabled=True))
    assert [h["execution"]["processInstanceId"] for h in r.get_json()] == [str(bolt)]


def test_all_delivers_to_every_waiting_deal(sg, rest, waiting):
    r = rest("erp")("POST", "/message", signed(all=True, resultEnabled=True))
    assert r.status_code == 200
    assert sorted(h["execution"]["processInstanceId"] for h in r.get_json()) == sorted(str(i) for i in waiting)
    assert [queries.instance(sg, i)["status"] for i in waiting] == ["completed", "completed"]


def test_bad_message_requests_and_other_roles_are_refused_in_camundas_shape(sg, rest, waiting, staff):
    erp = rest("erp")
    for body, words in ((signed(processInstanceId="1"), "'processInstanceId' is not supported"),
                        (signed(all="yes"), "'all' must be true or false"),
                        ({"businessKey": "CRM-1"}, "'messageName' is required"),
                        (signed(processVariables={"x": {"value": "a", "type": "Long"}}), "x")):
        r = erp("POST", "/message", body)
        assert r.status_code == 400 and r.get_json()["type"] == "InvalidRequestException", (body, r.get_json())
        assert words in r.get_json()["message"]
    r = rest("sam")("POST", "/message", signed(businessKey="CRM-1"))  # Sales holds no Legal or Integration role
    assert r.status_code == 403 and r.get_json()["type"] == "AuthorizationException"
    assert rest("lou")("POST", "/message", signed(businessKey="CRM-1")).status_code == 204  # the waiting lane's
    r = erp("POST", "/message", signed(), headers={"Authorization": "Basic ZXJwOm5vcGU="})
    assert r.status_code == 401
    assert [queries.instance(sg, i)["status"] for i in waiting] == ["completed", "running"]


def test_a_business_key_given_at_start_by_key_comes_back_on_fetch_and_lock_and_filters_it(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    r = sam("POST", "/process-definition/key/erp_quote/start",
            {"businessKey": "CRM-7", "variables": {"customer": {"value": "Acme"}, "quantity": {"value": 2}}})
    assert r.status_code == 200 and r.get_json()["businessKey"] == "CRM-7"
    keyed = int(r.get_json()["id"])
    assert queries.instance(sg, keyed)["business_key"] == "CRM-7"
    plain = int(start_quote(sam)["id"])
    assert [(t["processInstanceId"], t["businessKey"]) for t in fetch(erp, businessKey="CRM-7")] == [
        (str(keyed), "CRM-7")]
    [other] = fetch(erp)
    assert other["processInstanceId"] == str(plain) and other["businessKey"] is None
    [listed] = erp("GET", f"/external-task?processInstanceId={keyed}").get_json()
    assert listed["businessKey"] == "CRM-7"
    r = sam("POST", "/process-definition/key/erp_quote/start", {"businessKey": " "})
    assert r.status_code == 400 and "business_key" in r.get_json()["message"]



def test_a_start_message_with_a_business_key_starts_the_instance_under_that_key(sg, rest, waiting):
    r = rest("erp")("POST", "/message", {"messageName": "web lead", "businessKey": "CRM-77", "resultEnabled": True,
                                         "processVariables": {"company": {"value": "Cobalt"}}})
    assert r.status_code == 200, r.get_json()
    [hit] = r.get_json()
    assert hit["resultType"] == "ProcessDefinition" and hit["processInstance"]["businessKey"] == "CRM-77"
    assert queries.instance(sg, int(hit["processInstance"]["id"]))["business_key"] == "CRM-77"
    r = rest("erp")("POST", "/message", {"messageName": "web lead", "businessKey": "#1"})
    assert r.status_code == 400 and "no running deal waits for the message 'web lead'" in r.get_json()["message"]
