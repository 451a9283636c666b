"""POST /api/v1/messages: a system with the integration role signs a contract into the deal waiting
for it; 404 when nobody waits, 409 when several do, a retried message id is replayed, not redelivered."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from engine.services.users import add_user
from tests.message_diagrams import contract, lead


@pytest.fixture
def waiting(sg):
    """Two contracts sent by Legal, each waiting for "contract signed"; returns their deal numbers."""
    add_user(sg, "esign", ["Integration"], actor="cli:test")
    deploy(sg, [("contract.bpmn", contract())], actor="dora")
    deals = []
    for customer in ("Acme", "Bolt"):
        iid = start_instance(sg, "contract", "lou", {"customer": customer})["id"]
        complete_task(sg, queries.ready_tasks(sg, instance_id=iid)[0]["id"], "lou", {})
        deals.append(iid)
    return deals


def test_a_signed_contract_message_over_the_api(sg, api, waiting):
    esign = api("esign")
    acme, bolt = waiting
    r = esign("POST", "/api/v1/messages", {"name": "contract signed"})
    assert r.status_code == 409 and "2 deals wait" in r.get_json()["error"]
    body = {"name": "contract signed", "business_key": str(acme), "variables": {"signed_by": "Jane"},
            "message_id": "env-1"}
    r = esign("POST", "/api/v1/messages", body)
    assert r.status_code == 200, r.get_json()
    assert [(c["instance_id"], c["status"]) for c in r.get_json()["correlations"]] == [(acme, "completed")]
    again = esign("POST", "/api/v1/messages", body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == r.get_json()
    r = esign("POST", "/api/v1/messages", {**body, "message_id": "env-2"})
    assert r.status_code == 404 and "no running deal waits for the message 'contract signed'" in r.get_json()["error"]
    assert queries.instance(sg, bolt)["status"] == "running"


def test_bad_message_requests_are_400_and_other_roles_403(sg, api, waiting):
    esign = api("esign")
    assert esign("POST", "/api/v1/messages", {"name": ""}).status_code == 400
    assert esign("POST", "/api/v1/messages", {"name": "x", "all": "yes"}).status_code == 400
    assert esign("POST", "/api/v1/messages", {"name": "x", "variables": [1]}).status_code == 400
    r = esign("POST", "/api/v1/messages", {"name": "x", "bogus": 1})
    assert r.status_code == 400 and "bogus" in r.get_json()["error"]
    r = api("sam")("POST", "/api/v1/messages", {"name": "contract signed", "business_key": str(waiting[0])})
    assert r.status_code == 403 and "'integration' or 'legal'" in r.get_json()["error"]
    assert queries.instance(sg, waiting[0])["status"] == "running"


def test_the_deal_page_tells_who_sent_which_message_and_where_it_was_caught(sg, api, waiting, sign_in):
    acme = waiting[0]
    api("esign")("POST", "/api/v1/messages", {"name": "contract signed", "business_key": str(acme),
                                              "variables": {"signed_by": "Jane"}, "message_id": "env-9"})
    page = sign_in("lou").get(f"/deals/{acme}").get_data(as_text=True)
    assert "sent the message &#39;contract signed&#39; (id env-9)" in page
    assert "message &#39;contract signed&#39; received at Contract signed" in page


def test_a_process_started_by_a_message_is_not_offered_on_the_start_page(sg, sign_in):
    deploy(sg, [("lead.bpmn", lead())], actor="dora")
    page = sign_in("sam").get("/start").get_data(as_text=True)
    assert "Web lead" not in page and "Opportunity" in page
