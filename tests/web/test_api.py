"""The JSON API: token auth, the same role checks and audit as the pages, idempotent starts, JSON errors."""
import re

import pytest
from sqlalchemy import func, select

from engine.queries import records as queries
from engine.store.models import ApiToken, AuditEvent, Instance
from engine.services.tokens import create_token, list_tokens, revoke_token
from engine.services.users import add_user
from tests.drive import GOOD_PROSPECT, PRICING_OK
from tests.snapshot import stored
from web.openapi import document


def deal_count(sg) -> int:
    with sg.uow(write=False) as uow:
        return uow.session.execute(select(func.count()).select_from(Instance)).scalar_one()


def test_requests_without_a_valid_token_are_refused_with_401(app, sg, api, sign_in):
    client = app.test_client()
    r = client.get("/api/v1/tasks")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in r.get_json()["error"]
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer sgt_not-a-real-token"})
    assert r.status_code == 401 and "not valid" in r.get_json()["error"]
    # A signed-in browser session is not enough: the API takes tokens only, so it needs no CSRF token.
    browser = sign_in("sam")
    before = stored(sg)
    r = browser.client.post("/api/v1/instances", json={"process_id": "opportunity", "data": GOOD_PROSPECT})
    assert r.status_code == 401
    assert stored(sg) == before


def test_a_revoked_token_stops_working_at_once(sg, api):
    sam = api("sam")
    assert sam("GET", "/api/v1/tasks").status_code == 200
    token_id = list_tokens(sg, "sam", "sam")[0]["id"]
    revoke_token(sg, "sam", "sam", token_id)
    assert sam("GET", "/api/v1/tasks").status_code == 401


def test_start_with_an_idempotency_key_makes_one_deal_however_often_it_is_sent(sg, api):
    sam = api("sam")
    body = {"process_id": "opportunity", "data": GOOD_PROSPECT}
    first = sam("POST", "/api/v1/instances", body, headers={"Idempotency-Key": "crm-webhook-7781"})
    assert first.status_code == 201, first.get_json()
    deal = first.get_json()
    assert deal["title"] == "Acme pumps" and deal["ready_tasks"][0]["element_id"] == "Task_Discovery"
    again = sam("POST", "/api/v1/instances", body, headers={"Idempotency-Key": "crm-webhook-7781"})
    assert again.status_code == 201 and again.get_json() == deal
    assert again.headers["Idempotent-Replayed"] == "true"
    assert deal_count(sg) == 1
    other = sam("POST", "/api/v1/instances", {**body, "data": {**GOOD_PROSPECT, "deal_value": 9}},
                headers={"Idempotency-Key": "crm-webhook-7781"})
    assert other.status_code == 422
    assert f"already used for a different request (it started deal #{deal['id']})" in other.get_json()["error"]
    assert deal_count(sg) == 1
    # Without a key every request is a new deal; the same key from another user is that user's own.
    assert sam("POST", "/api/v1/instances", body).get_json()["id"] != deal["id"]
    sally = api("sally")
    assert sally("POST", "/api/v1/instances", body, headers={"Idempotency-Key": "crm-webhook-7781"}).status_code == 201
    assert deal_count(sg) == 3
    starts = [e for e in queries.history(sg, deal["id"]) if e["kind"] == "instance_started"]
    assert [e["actor"] for e in starts] == ["sam"]


def test_bad_requests_are_json_errors_that_name_the_field_and_change_nothing(sg, api, driver):
    sam = api("sam")
    before = stored(sg)
    r = sam("POST", "/api/v1/instances", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]
    r = sam("POST", "/api/v1/instances", {"data": {}})
    assert r.status_code == 400 and "process_id" in r.get_json()["errors"]
    r = sam("POST", "/api/v1/instances", {"process_id": "opportunity", "data": {**GOOD_PROSPECT, "deal_value": "lots"}})
    assert r.status_code == 400 and set(r.get_json()["errors"]) == {"deal_value"}
    r = sam("POST", "/api/v1/instances", {"process_id": "no_such_process"})
    assert r.status_code == 404 and "no process 'no_such_process'" in r.get_json()["error"]
    assert sam("GET", "/api/v1/instances/999999").status_code == 404
    assert sam("POST", "/api/v1/tasks/nope/complete", {"data": {}}).status_code == 404
    r = sam("GET", "/api/v1/gate-decisions?instance_id=abc")
    assert r.status_code == 400 and r.get_json()["errors"] == {"instance_id": "'abc' is not a whole number"}
    assert sam("GET", f"/api/v1/gate-decisions?instance_id={2**63}").status_code == 400
    assert sam("GET", f"/api/v1/instances/{2**63}").status_code == 404
    r = sam("DELETE", "/api/v1/tasks")
    assert r.status_code == 405 and "error" in r.get_json()
    assert sam("GET", "/api/v1/no/such/route").status_code == 404
    assert stored(sg) == before


def test_a_sign_off_through_the_api_checks_roles_claims_and_staleness(sg, api, driver):
    iid = driver.to_sign_offs()
    fiona, pete = api("fiona"), api("pete")
    mine = fiona("GET", "/api/v1/tasks").get_json()["tasks"]
    pricing = next(t for t in mine if t["instance_id"] == iid and t["element_id"] == "Task_SignOffPricing")
    assert all(t["role"] in ("finance", "finance head") for t in mine)
    url = f"/api/v1/tasks/{pricing['id']}"

    before = stored(sg)
    r = pete("POST", f"{url}/complete", {"data": PRICING_OK})
    assert r.status_code == 403 and "needs the role 'finance'" in r.get_json()["error"]
    assert set(r.get_json()) == {"error"}, "a refusal carries no deal data"
    r = fiona("POST", f"{url}/complete", {"data": {"pricing_approved": "maybe"}})
    assert r.status_code == 400 and "pricing_approved" in r.get_json()["errors"]
    assert stored(sg) == before

    assert fiona("POST", f"{url}/claim").get_json()["claimed_by"] == "fiona"
    r = fiona("POST", f"{url}/complete", {"data": PRICING_OK})
    assert r.status_code == 200, r.get_json()
    assert "Task_SignOffPricing" not in {t["element_id"] for t in r.get_json()["ready_tasks"]}
    r = fiona("POST", f"{url}/complete", {"data": PRICING_OK})
    assert r.status_code == 409 and "already completed by fiona" in r.get_json()["error"]
    done = [e for e in queries.history(sg, iid) if e["kind"] in ("task_claimed", "task_completed")
            and e["details"]["task_id"] == pricing["id"]]
    assert [(e["kind"], e["actor"]) for e in done] == [("task_claimed", "fiona"), ("task_completed", "fiona")]


def test_instance_history_and_gate_decisions_follow_the_access_rule(sg, api, driver):
    iid = driver.to_sign_offs()
    lena = api("lena")
    deal = lena("GET", f"/api/v1/instances/{iid}").get_json()
    assert deal["status"] == "running" and deal["data"]["deal_name"] == "Acme pumps"
    assert [g["gate"] for g in deal["gate_decisions"]] == ["qualification", "discovery"]
    kinds = [e["kind"] for e in lena("GET", f"/api/v1/instances/{iid}/history").get_json()["events"]]
    assert kinds[0] == "instance_started" and "gate_decided" in kinds
    gates = lena("GET", f"/api/v1/gate-decisions?instance_id={iid}&outcome=go").get_json()["gate_decisions"]
    assert {(g["gate"], g["outcome"]) for g in gates} == {("qualification", "go"), ("discovery", "go")}

    add_user(sg, "mo", ["Marketing"], "cli:test")
    mo = api("mo")
    r = mo("GET", f"/api/v1/instances/{iid}")
    assert r.status_code == 403 and set(r.get_json()) == {"error"}
    assert mo("GET", f"/api/v1/instances/{iid}/history").status_code == 403
    assert mo("GET", "/api/v1/gate-decisions").get_json() == {"gate_decisions": []}
    assert mo("GET", "/api/v1/tasks").get_json() == {"tasks": []}


def test_the_person_behind_an_engine_step_is_found_through_the_api(sg, api, driver):
    iid = driver.to_proposal()
    lena = api("lena")
    events = lena("GET", f"/api/v1/instances/{iid}/history?actor=lena").get_json()["events"]
    assert [(e["actor"], e["on_behalf_of"], e["kind"]) for e in events] == [
        ("lena", None, "task_completed"), ("engine", "lena", "gate_decided")]
    every = lena("GET", f"/api/v1/instances/{iid}/history").get_json()["events"]
    assert len(every) > len(events) and all("on_behalf_of" in e for e in every)

    ada = api("ada")
    found = ada("GET", "/api/v1/audit-events?actor=lena&kind=gate_decided").get_json()
    assert (found["total"], found["page"], found["pages"]) == (1, 1, 1)
    assert [(e["actor"], e["on_behalf_of"], e["details"]["gate"], e["instance_id"]) for e in found["events"]] == [
        ("engine", "lena", "discovery", iid)]
    bad = ada("GET", "/api/v1/audit-events?since=yesterday&outcome=maybe")
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"since", "outcome"}
    refused = lena("GET", "/api/v1/audit-events?actor=lena")
    assert refused.status_code == 403 and "auditor" in refused.get_json()["error"]


def test_the_audit_queries_read_their_values_as_every_query_does(sg, api, driver):
    iid = driver.to_proposal()
    ada = api("ada")
    for url, name in (("/api/v1/audit-events?page=x", "page"), ("/api/v1/audit-events?page=0", "page"),
                      (f"/api/v1/instances/{iid}/history?actor=le%00na", "actor"),
                      (f"/api/v1/instances/{iid}/history?actor={'x' * 300}", "actor")):
        r = ada("GET", url)
        assert r.status_code == 400 and set(r.get_json()["errors"]) == {name}, (url, r.get_json())
    last = ada("GET", "/api/v1/audit-events?page=99999").get_json()
    assert last["page"] == last["pages"] and last["events"], "past the end: the last page"


def test_the_api_says_how_a_deal_stands_when_started_and_when_read(sg, api):
    sam = api("sam")
    r = sam("POST", "/api/v1/instances", json={"process_id": "opportunity",
                                               "data": {**GOOD_PROSPECT, "annual_revenue_musd": 30}})
    assert r.status_code == 201
    started = r.get_json()
    assert started["status"] == "completed"
    assert {k: started["outcome"][k] for k in ("kind", "gate", "stage", "reason", "end_event")} == {
        "kind": "killed", "gate": "qualification", "stage": "Qualification",
        "reason": "annual revenue $30MM is below $50MM", "end_event": "EndEvent_Disqualified"}
    assert started["outcome"]["text"] == "killed at the Qualification gate: annual revenue $30MM is below $50MM"
    assert sam("GET", f"/api/v1/instances/{started['id']}").get_json()["outcome"] == started["outcome"]
    running = sam("POST", "/api/v1/instances", json={"process_id": "opportunity", "data": GOOD_PROSPECT}).get_json()
    assert running["outcome"]["kind"] == "open" and running["outcome"]["gate"] is None
    schemas = document()["components"]["schemas"]
    assert "outcome" in schemas["InstanceSummary"]["required"] and "outcome" in schemas["Instance"]["required"]
    assert set(started["outcome"]) == set(schemas["Outcome"]["properties"])


def test_the_openapi_document_describes_exactly_the_routes(app):
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc == document() and doc["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == served


def test_tokens_are_made_on_the_account_page_shown_once_and_revocable(sg, sign_in, app):
    b = sign_in("sam")
    assert "You have no API tokens" in b.get("/account/tokens").get_data(as_text=True)
    r = b.post("/account/tokens", {"name": "HubSpot webhook"}, page="/account/tokens")
    assert r.status_code == 201
    token = re.search(r'data-testid="new-token">(sgt_[^<]+)<', r.get_data(as_text=True)).group(1)
    listing = b.get("/account/tokens").get_data(as_text=True)
    assert "HubSpot webhook" in listing and token[:10] in listing and token not in listing, "shown once"
    with sg.uow(write=False) as uow:
        stored_hash = uow.session.execute(select(ApiToken.token_hash)).scalar_one()
    assert token not in stored_hash and len(stored_hash) == 64

    client = app.test_client()
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    token_id = re.search(r'/account/tokens/(\d+)/revoke', listing).group(1)
    assert b.post(f"/account/tokens/{token_id}/revoke", page="/account/tokens", token=False).status_code == 400, \
        "revoking needs the form's CSRF token"
    r = b.post(f"/account/tokens/{token_id}/revoke", page="/account/tokens")
    assert r.status_code == 302
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    kinds = [e["kind"] for e in _audit(sg)]
    assert "api_token_created" in kinds and "api_token_revoked" in kinds
    assert all(token not in str(e["details"]) for e in _audit(sg)), "the secret is never in the audit trail"
    r = b.post("/account/tokens", {"name": " "}, page="/account/tokens")
    assert r.status_code == 422 and "needs a name" in r.get_data(as_text=True)


def _audit(sg):
    with sg.uow(write=False) as uow:
        return [{"kind": e.kind, "details": e.details}
                for e in uow.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]


def test_an_auditor_reads_through_the_api_and_every_write_is_refused_and_recorded(sg, api, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    ada = api("ada")
    assert ada("GET", f"/api/v1/instances/{iid}").status_code == 200
    assert ada("GET", f"/api/v1/instances/{iid}/history").status_code == 200
    for method, path, body in (("POST", "/api/v1/instances", {"process_id": "opportunity", "data": GOOD_PROSPECT}),
                               ("POST", f"/api/v1/tasks/{task_id}/claim", None),
                               ("POST", f"/api/v1/tasks/{task_id}/complete", {"data": {}})):
        before = stored(sg)
        r = ada(method, path, json=body)
        assert r.status_code == 403 and "auditor" in r.get_json()["error"], (path, r.get_json())
        after = stored(sg)
        new = after.pop("audit")[len(before.pop("audit")):]
        assert len(new) == 1 and after == before, path
    kinds = [e["kind"] for e in _audit(sg)[-3:]]
    assert kinds == ["refused"] * 3
