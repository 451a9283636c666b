"""Variables and a business key through the JSON API, for a diagram without forms."""
from engine.services.deployment import deploy
from tests import diagram_factory as f
from tests.test_variables import FORMLESS


def test_the_api_starts_and_completes_with_variables(sg, staff, api):
    staff({"alice": ["accounting"]})
    deploy(sg, f.files(("invoice.bpmn", FORMLESS)), "cli:test")
    call = api("alice")
    r = call("POST", "/api/v1/instances", json={"process_id": "invoice", "business_key": "INV-7",
                                                "data": {"amount": 5000}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["business_key"] == "INV-7"
    r = call("POST", f"/api/v1/tasks/{body['ready_tasks'][0]['id']}/complete", json={"data": {"approved": True}})
    assert r.status_code == 200 and r.get_json()["ended_at_element"] == "Rejected"  # 5000 is not < 1000
    assert call("GET", f"/api/v1/instances/{body['id']}").get_json()["business_key"] == "INV-7"


