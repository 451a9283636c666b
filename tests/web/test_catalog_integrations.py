"""The shipped opportunity's integrations: the ERP prices the proposal through the erp-pricing external task
before Finance signs it off, and "contract signed" from the e-signature service closes Legal's review."""
from engine.services.users import add_user
from tests.web.conftest import text
from tests.drive import DELIVERY_OK, GATE_GO, PRICING_OK, PROPOSAL, QUALITY_OK, Driver
from workflows import erp_pricing

SIGN_OFFS = {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality"}


def test_the_erp_stand_in_prices_the_proposal_before_the_sign_offs_open(make_sg, sg, catalog):
    drive = Driver(make_sg, clock=sg.clock, erp=False)
    iid = drive.to_proposal()
    r = drive.work(iid, "Task_PrepareProposal", "sam", **{**PROPOSAL, "price": 450000})
    assert r["ready_tasks"] == [] and "list_price" not in drive.show(iid)["data"]
    assert [t["topic"] for t in drive.show(iid)["external_tasks"]] == ["erp-pricing"]
    assert erp_pricing.serve_pending(drive.fresh()) == 1
    data = drive.show(iid)["data"]
    # Energy lists 5% above the deal's value ($500,000): the quote is $75,000 (14%) below list.
    assert (data["list_price"], data["discount_amount"], data["discount_pct"]) == (525000, 75000, 14)
    assert set(drive.ready(iid)) == SIGN_OFFS and data["approval_level"] == "finance"
    assert erp_pricing.serve_pending(drive.fresh()) == 0, "each proposal is priced once"
    completed = [e for e in drive.history(iid) if e["kind"] == "external_task_completed"]
    assert [(e["actor"], e["element_id"]) for e in completed] == [("erp", "Task_ErpListPrice")]


def test_a_camunda_worker_can_price_it_over_engine_rest_and_sees_the_deals_business_key(sg, catalog, api, driver):
    from engine.services.instances import start_instance
    from tests.drive import DISCOVERY, DISCOVERY_GO, GOOD_PROSPECT
    add_user(sg, "erp", ["Integration"], actor="cli:test")
    driver.erp = False
    iid = start_instance(sg, "opportunity", "sam", GOOD_PROSPECT, business_key="CRM-100")["id"]
    driver.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    driver.work(iid, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
    driver.work(iid, "Task_PrepareProposal", "sam", **PROPOSAL)
    erp = api("erp")
    r = erp("POST", "/engine-rest/external-task/fetchAndLock",
            {"workerId": "sap", "maxTasks": 5, "topics": [{"topicName": "erp-pricing", "lockDuration": 60000,
                                                           "variables": ["deal_value", "price", "industry"]}]})
    [task] = r.get_json()
    assert (task["businessKey"], task["activityId"], task["processInstanceId"]) == (
        "CRM-100", "Task_ErpListPrice", str(iid))
    assert set(task["variables"]) == {"deal_value", "price", "industry"}
    answer = erp_pricing.price({k: v["value"] for k, v in task["variables"].items()})
    r = erp("POST", f"/engine-rest/external-task/{task['id']}/complete",
            {"workerId": "sap", "variables": {k: {"value": v} for k, v in answer.items()}})
    assert r.status_code == 204, r.get_json()
    assert set(driver.ready(iid)) == SIGN_OFFS and driver.show(iid)["data"]["list_price"] == 525000


def test_contract_signed_closes_legals_review_and_negotiation_opens(sg, api, driver, sign_in):
    add_user(sg, "esign", ["Integration"], actor="cli:test")
    iid = driver.to_sign_offs()
    for element, user, data in (("Task_SignOffPricing", "fiona", PRICING_OK),
                                ("Task_SignOffDelivery", "pete", DELIVERY_OK),
                                ("Task_SignOffQuality", "quinn", QUALITY_OK),
                                ("Task_ProposalGateReview", "lena", GATE_GO)):
        driver.work(iid, element, user, **data)
    assert set(driver.ready(iid)) == {"Task_ContractReview"}
    esign = api("esign")
    body = {"name": "contract signed", "business_key": str(iid), "variables": {"envelope": "ENV-1"},
            "message_id": "ENV-1"}
    r = esign("POST", "/api/v1/messages", body)
    assert r.status_code == 200, r.get_json()
    [hit] = r.get_json()["correlations"]
    assert hit["element_ids"] == ["Boundary_ContractSigned"] and hit["stage"] == "Negotiation"
    assert [t["element_id"] for t in hit["ready_tasks"]] == ["Task_Negotiate"]
    assert driver.show(iid)["data"]["envelope"] == "ENV-1"
    cancelled = [e for e in driver.history(iid) if e["kind"] == "task_cancelled"]
    assert [e["element_id"] for e in cancelled] == ["Task_ContractReview"]
    page = text(sign_in("lou").get(f"/deals/{iid}"))  # the deal's data under the step that set it
    assert "Get list price from ERP erp ·" in page and "List price 525,000" in page, page
    assert "Contract signed esign ·" in page and "Envelope ENV-1" in page, page
    r = esign("POST", "/engine-rest/message", {"messageName": "contract signed", "businessKey": str(iid)})
    assert r.status_code == 400 and "no running deal waits" in r.get_json()["message"], "Legal's review is closed"
