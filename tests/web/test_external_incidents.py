"""An external task out of retries is an incident on the deal page, and a department head retries it there."""
from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.external_steps import complete_external_task
from engine.services.external_tasks import fetch_and_lock, report_failure
from engine.services.instances import start_instance
from engine.services.users import add_user
from tests.external.diagrams import QUOTE
from datetime import timedelta

from sqlalchemy import select

from engine.store.models import OutboxEvent

TOPIC = [{"topic": "erp.price_quote", "lock": timedelta(minutes=1), "variables": None}]


def _out_of_retries(sg):
    """A quote deal whose external task a worker failed with no retries left: (deal id, the fetched task)."""
    add_user(sg, "erp", ["Integration"], "cli:test")
    deploy(sg, [("quote.bpmn", QUOTE)], actor="cli:test")
    iid = start_instance(sg, "erp_quote", "sam", {"customer": "Acme", "quantity": 3})["id"]
    [task] = fetch_and_lock(sg, "erp", "w1", TOPIC, 1)
    report_failure(sg, "erp", task["row"]["id"], "w1", "ERP is down", None, 0, None)
    return iid, task


def test_a_head_retries_a_failed_external_task_from_the_deal_page_and_a_worker_then_finishes_it(sg, sign_in):
    iid, task = _out_of_retries(sg)
    sam = sign_in("sam")
    page = sam.get(f"/deals/{iid}").get_data(as_text=True)
    assert "Waiting for a system" in page and "topic erp.price_quote" in page and "no retries left" in page
    assert "last error: ERP is down" in page
    assert "no retries left: ERP is down" in page and ">Retry</button>" not in page, "only those who may retry see it"
    retry = f"/deals/{iid}/external-tasks/{task['row']['id']}/retry"
    assert sam.post(retry, page=f"/deals/{iid}").status_code == 403
    assert queries.instance(sg, iid)["open_incidents"]
    ada = sign_in("ada")
    assert ada.post(retry, page="/").status_code == 403, "auditors change nothing"
    lena = sign_in("lena")
    page = lena.get(f"/deals/{iid}").get_data(as_text=True)
    assert ">Retry</button>" in page
    r = lena.post(retry, page=f"/deals/{iid}", follow_redirects=True)
    assert r.status_code == 200 and "open to workers again" in r.get_data(as_text=True)
    assert queries.instance(sg, iid)["open_incidents"] == []
    [again] = fetch_and_lock(sg, "erp", "w2", TOPIC, 1)
    assert again["row"]["retries"] == 1
    page = lena.get(f"/deals/{iid}").get_data(as_text=True)
    assert "worker w2 has it until" in page and "(1 retry left)" in page
    complete_external_task(sg, "erp", again["row"]["id"], "w2", {"net_price": 3000})
    assert [t["element_id"] for t in queries.ready_tasks(sg, instance_id=iid)] == ["Task_Review"]
    kinds = [e["kind"] for e in queries.history(sg, iid)]
    assert kinds.count("external_task_retries_set") == 1 and "incident" in kinds


def test_an_external_task_out_of_retries_tells_webhook_subscribers_of_the_incident(sg, app):
    iid, task = _out_of_retries(sg)
    [incident] = queries.instance(sg, iid)["open_incidents"]
    with sg.uow(write=False) as uow:
        events = uow.session.execute(select(OutboxEvent).where(OutboxEvent.instance_id == iid,
                                                               OutboxEvent.type == "incident.opened")).scalars().all()
        [event] = [e.data for e in events]
    assert event["incident"]["id"] == incident["id"] and "ERP is down" in event["incident"]["message"]
    assert event["deal"]["id"] == iid and event["incident"]["element_id"] == incident["element_id"]
