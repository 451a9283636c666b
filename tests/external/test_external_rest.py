"""External tasks through Camunda 7's REST shape: fetch and lock, complete, fail, retry, BPMN errors, locks."""
from engine.queries import records as queries

from .conftest import fetch, start_quote


def _events(sg, iid, kind):
    return [e for e in queries.history(sg, iid) if e["kind"] == kind]


def test_a_worker_fetches_the_task_with_typed_variables_and_completing_it_moves_the_deal_on(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    deal = start_quote(sam)
    assert deal["ended"] is False and deal["definitionId"] == "erp_quote:1"
    [task] = fetch(erp)
    assert task["topicName"] == "erp.price_quote" and task["activityId"] == "Task_Price"
    assert task["processInstanceId"] == deal["id"] and task["workerId"] == "w1" and task["retries"] is None
    assert task["priority"] == 20 and task["processDefinitionKey"] == "erp_quote"
    assert task["variables"]["customer"] == {"type": "String", "value": "Acme", "valueInfo": {}}
    assert task["variables"]["quantity"] == {"type": "Integer", "value": 12, "valueInfo": {}}
    assert fetch(erp, worker_id="w2") == [], "a locked task is not handed to a second worker"
    r = erp("POST", f"/external-task/{task['id']}/complete",
            {"workerId": "w1", "variables": {"net_price": {"value": 118000, "type": "Long"},
                                             "price_lines": {"value": [{"sku": "P-1", "qty": 12}]}}})
    assert r.status_code == 204, r.get_json()
    data = queries.instance(sg, int(deal["id"]))["data"]
    assert data["net_price"] == 118000 and data["price_lines"] == [{"sku": "P-1", "qty": 12}]
    assert [t["element_id"] for t in queries.ready_tasks(sg, instance_id=int(deal["id"]))] == ["Task_Review"]
    done = _events(sg, int(deal["id"]), "external_task_completed")
    assert done[0]["actor"] == "erp" and done[0]["details"]["worker_id"] == "w1"
    again = erp("POST", f"/external-task/{task['id']}/complete", {"workerId": "w1"})
    assert again.status_code == 404 and again.get_json()["type"] == "RestException"


def test_only_the_worker_holding_the_lock_completes_and_a_lock_that_expires_frees_the_task(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    iid = int(start_quote(sam)["id"])
    [task] = fetch(erp, lock_ms=10_000)
    r = erp("POST", f"/external-task/{task['id']}/complete", {"workerId": "intruder"})
    assert r.status_code == 500 and "locked by worker 'w1'" in r.get_json()["message"]
    sg.clock.advance(seconds=5)
    assert erp("POST", f"/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 10_000}
               ).status_code == 204
    sg.clock.advance(seconds=8)
    assert fetch(erp, worker_id="w2") == [], "the extended lock still holds"
    sg.clock.advance(seconds=3)
    [again] = fetch(erp, worker_id="w2")
    assert again["id"] == task["id"] and again["workerId"] == "w2"
    late = erp("POST", f"/external-task/{task['id']}/complete", {"workerId": "w1"})
    assert late.status_code == 500 and queries.instance(sg, iid)["status"] == "running"
    assert erp("POST", f"/external-task/{task['id']}/unlock").status_code == 204
    [third] = fetch(erp, worker_id="w3")
    assert third["id"] == task["id"]


def test_failures_count_down_retries_then_an_incident_opens_that_a_person_retries(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    iid = int(start_quote(sam)["id"])
    [task] = fetch(erp)
    r = erp("POST", f"/external-task/{task['id']}/failure",
            {"workerId": "w1", "errorMessage": "ERP timed out", "errorDetails": "socket timeout after 30s",
             "retries": 1, "retryTimeout": 60_000})
    assert r.status_code == 204
    assert fetch(erp) == [], "not fetched again before the retry timeout"
    sg.clock.advance(seconds=61)
    [again] = fetch(erp)
    assert again["retries"] == 1 and again["errorMessage"] == "ERP timed out"
    assert erp("POST", f"/external-task/{task['id']}/failure",
               {"workerId": "w1", "errorMessage": "ERP down", "retries": 0}).status_code == 204
    sg.clock.advance(hours=1)
    assert fetch(erp) == []
    [incident] = queries.instance(sg, iid)["open_incidents"]
    assert incident["element_id"] == "Task_Price" and "no retries left: ERP down" in incident["message"]
    listed = erp("GET", f"/external-task?processInstanceId={iid}").get_json()
    assert listed[0]["retries"] == 0 and listed[0]["errorMessage"] == "ERP down"
    assert erp("PUT", f"/external-task/{task['id']}/retries", {"retries": 3}).status_code == 204
    assert queries.instance(sg, iid)["open_incidents"] == []
    [fourth] = fetch(erp)
    assert fourth["retries"] == 3


def test_a_bpmn_error_is_caught_by_the_error_boundary_event_for_its_code(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    iid = int(start_quote(sam)["id"])
    [task] = fetch(erp)
    r = erp("POST", f"/external-task/{task['id']}/bpmnError",
            {"workerId": "w1", "errorCode": "NO_PRICE", "errorMessage": "no list price for P-1",
             "variables": {"erp_reason": {"value": "SKU unknown", "type": "String"}}})
    assert r.status_code == 204, r.get_json()
    assert [t["element_id"] for t in queries.ready_tasks(sg, instance_id=iid)] == ["Task_Manual"]
    assert queries.instance(sg, iid)["data"]["erp_reason"] == "SKU unknown"
    [ev] = _events(sg, iid, "external_task_bpmn_error")
    assert ev["details"]["error_code"] == "NO_PRICE" and ev["details"]["caught_by"] == "Error_Caught"
    assert erp("GET", f"/external-task?processInstanceId={iid}").get_json() == []


def test_an_uncaught_bpmn_error_opens_an_incident_and_changes_nothing_else(sg, rest):
    sam, erp = rest("sam"), rest("erp")
    iid = int(start_quote(sam)["id"])
    [task] = fetch(erp)
    r = erp("POST", f"/external-task/{task['id']}/bpmnError", {"workerId": "w1", "errorCode": "CREDIT_HOLD"})
    assert r.status_code == 204
    [incident] = queries.instance(sg, iid)["open_incidents"]
    assert "BPMN error 'CREDIT_HOLD'" in incident["message"] and incident["element_id"] == "Task_Price"
    assert queries.ready_tasks(sg, instance_id=iid) == []
    sg.clock.advance(hours=1)
    assert fetch(erp) == [], "no retries until a person retries it"
    assert erp("PUT", f"/external-task/{task['id']}/retries", {"retries": 1}).status_code == 204
    assert fetch(erp)[0]["id"] == task["id"]


def test_java_delegates_and_send_tasks_wait_for_workers_on_the_delegate_and_topic(sg, rest):
    erp = rest("erp")
    from engine.services.instances import start_instance
    iid = start_instance(sg, "legacy_order", "sam", {})["id"]
    [book] = fetch(erp, topic="com.acme.erp.BookOrderDelegate")
    assert book["activityId"] == "Task_Book"
    assert erp("POST", f"/external-task/{book['id']}/complete", {"workerId": "w1"}).status_code == 204
    [confirm] = fetch(erp, topic="mail.confirm")
    assert erp("POST", f"/external-task/{confirm['id']}/complete", {"workerId": "w1"}).status_code == 204
    assert queries.instance(sg, iid)["status"] == "completed"


def test_workers_need_the_integration_role_and_a_token_of_their_own(sg, rest):
    sam, erp, ada = rest("sam"), rest("erp"), rest("ada")
    start_quote(sam)
    r = sam("POST", "/external-task/fetchAndLock",
            {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "erp.price_quote", "lockDuration": 1000}]})
    assert r.status_code == 403 and r.get_json()["type"] == "AuthorizationException"
    assert "integration" in r.get_json()["message"]
    assert ada("POST", "/external-task/fetchAndLock",
               {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "x", "lockDuration": 1}]}).status_code == 403
    import base64
    stolen = "Basic " + base64.b64encode(f"fiona:{erp.token}".encode()).decode()
    r = erp("GET", "/external-task", headers={"Authorization": stolen})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = erp("GET", "/external-task", headers={"Authorization": f"Bearer {erp.token}"})
    assert r.status_code == 200


def test_bad_requests_get_camundas_error_shape(sg, rest):
    erp = rest("erp")
    r = erp("POST", "/external-task/fetchAndLock", {"workerId": "w", "maxTasks": 1, "topics": []})
    assert r.status_code == 400 and r.get_json()["type"] == "InvalidRequestException"
    r = erp("POST", "/external-task/fetchAndLock",
            {"workerId": "w", "maxTasks": 1, "asyncResponseTimeout": 3_600_000,
             "topics": [{"topicName": "t", "lockDuration": 1}]})
    assert r.status_code == 400 and "1800000" in r.get_json()["message"]
    r = erp("POST", "/external-task/fetchAndLock", data="workerId=w", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    sam = rest("sam")
    r = sam("POST", "/process-definition/key/erp_quote/start",
            {"variables": {"quantity": {"value": "twelve", "type": "Long"}}})
    assert r.status_code == 400 and "quantity" in r.get_json()["message"]
    r = sam("POST", "/process-definition/key/erp_quote/start",
            {"variables": {"blob": {"value": "rO0AB", "type": "Object",
                                    "valueInfo": {"serializationDataFormat": "application/x-java-serialized-object"}}}})
    assert r.status_code == 400 and "send it as type Json" in r.get_json()["message"]
    r = sam("POST", "/process-definition/key/erp_quote/start", {"businessKey": "CRM\x001"})
    assert r.status_code == 400 and "business_key" in r.get_json()["message"]
    r = sam("POST", "/process-definition/key/nope/start", {})
    assert r.status_code == 404


def test_a_long_poll_waits_for_a_task_and_answers_as_soon_as_one_opens(sg, rest):
    import threading
    import time
    sam, erp = rest("sam"), rest("erp")
    answer = {}

    def poll():
        began = time.monotonic()
        r = erp("POST", "/external-task/fetchAndLock",
                {"workerId": "w1", "maxTasks": 1, "asyncResponseTimeout": 20_000,
                 "topics": [{"topicName": "erp.price_quote", "lockDuration": 60_000}]})
        answer.update(status=r.status_code, tasks=r.get_json(), seconds=time.monotonic() - began)

    waiting = threading.Thread(target=poll)
    waiting.start()
    time.sleep(1.0)
    assert waiting.is_alive(), "with nothing to fetch the poll waits"
    deal = start_quote(sam)
    waiting.join(timeout=10)
    assert answer["status"] == 200 and [t["processInstanceId"] for t in answer["tasks"]] == [deal["id"]]
    assert 1.0 <= answer["seconds"] < 5, answer["seconds"]
    began = time.monotonic()
    r = erp("POST", "/external-task/fetchAndLock",
            {"workerId": "w1", "maxTasks": 1, "asyncResponseTimeout": 1_200,
             "topics": [{"topicName": "erp.price_quote", "lockDuration": 60_000}]})
    assert r.get_json() == [] and 1.1 <= time.monotonic() - began < 4, "an empty answer once the timeout passes"


def test_rest_subset_lists_claims_and_completes_user_tasks_with_the_same_roles(sg, rest):
    sam, erp, fiona = rest("sam"), rest("erp"), rest("fiona")
    deal = start_quote(sam)
    [task] = fetch(erp)
    erp("POST", f"/external-task/{task['id']}/complete", {"workerId": "w1"})
    [review] = sam("GET", f"/task?processInstanceId={deal['id']}").get_json()
    assert review["taskDefinitionKey"] == "Task_Review" and review["assignee"] is None
    assert fiona("GET", f"/task?processInstanceId={deal['id']}").get_json() == [], "Finance sees no Sales task"
    r = sam("POST", f"/task/{review['id']}/claim", {"userId": "fiona"})
    assert r.status_code == 403
    assert sam("POST", f"/task/{review['id']}/claim", {"userId": "sam"}).status_code == 204
    assert sam("GET", "/task?assignee=sam").get_json()[0]["id"] == review["id"]
    r = fiona("POST", f"/task/{review['id']}/complete", {"variables": {"approved": {"value": True}}})
    assert r.status_code == 403
    r = sam("POST", f"/task/{review['id']}/complete", {"variables": {"approved": {"value": True, "type": "Boolean"}}})
    assert r.status_code == 204, r.get_json()
    assert queries.instance(sg, int(deal["id"]))["status"] == "completed"
    [ev] = _events(sg, int(deal["id"]), "task_completed")
    assert ev["actor"] == "sam" and ev["details"]["data"] == {"approved": True}


def test_a_timer_that_interrupts_the_external_task_withdraws_it_from_its_worker(sg, rest):
    from engine.services.deployment import deploy
    from engine.services.instances import start_instance
    from engine.services.timers import fire_due_timers
    from .diagrams import CHASED
    erp = rest("erp")
    deploy(sg, [("chased.bpmn", CHASED)], actor="cli:test")
    iid = start_instance(sg, "chased_quote", "sam", {})["id"]
    [task] = fetch(erp, lock_ms=3 * 24 * 3600 * 1000)
    sg.clock.advance(days=1, minutes=1)
    assert fire_due_timers(sg)["fired"] == 1
    assert [t["element_id"] for t in queries.ready_tasks(sg, instance_id=iid)] == ["Task_Manual"]
    r = erp("POST", f"/external-task/{task['id']}/complete", {"workerId": "w1"})
    assert r.status_code == 404 and "cancelled" in r.get_json()["message"]
    [ev] = _events(sg, iid, "external_task_cancelled")
    assert ev["details"]["worker_id"] == "w1" and ev["details"]["reason"] == "flow_moved_on"
    assert fetch(erp) == []
