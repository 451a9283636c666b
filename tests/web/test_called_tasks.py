"""A task of a called process, as staff meet it: in its own role's inbox, with its own form, refused to others."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.tokens import create_token
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f
from tests.snapshot import stored
from tests.test_called_processes import LEGAL_REVIEW, caller

from .conftest import text


@pytest.fixture(params=[False, True], ids=["different ids", "equal ids"])
def called(request, sg, app):
    deploy(sg, f.files(("legal_review.bpmn", LEGAL_REVIEW), ("caller.bpmn", caller("caller", request.param))),
           "cli:test")
    iid = start_instance(sg, "caller", "sam", {})["id"]
    if request.param:  # the caller's own Assign_Reviewer first
        [own] = queries.ready_tasks(sg, instance_id=iid)
        complete_task(sg, own["id"], "sam", {"brief": "NDA"})
    [task] = queries.ready_tasks(sg, instance_id=iid)
    return {"deal": iid, "task": task["id"]}


def test_finance_finds_the_called_task_in_the_inbox_and_completes_it_with_its_form(sg, sign_in, called):
    fiona = sign_in("fiona")
    inbox = fiona.get("/").get_data(as_text=True)
    assert f'href="/tasks/{called["task"]}">Assign reviewer</a>' in inbox
    page = fiona.get(f"/tasks/{called['task']}")
    assert page.status_code == 200 and 'id="field-reviewer"' in page.get_data(as_text=True)
    assert 'id="field-brief"' not in page.get_data(as_text=True)
    r = fiona.post(f"/tasks/{called['task']}/claim", page=f"/tasks/{called['task']}")
    assert r.status_code == 302
    r = fiona.post(f"/tasks/{called['task']}", {"reviewer": "lou"}, page=f"/tasks/{called['task']}")
    assert r.status_code == 302, text(r)
    [review] = queries.ready_tasks(sg, instance_id=called["deal"])
    assert review["name"] == "Review the contract" and review["roles"] == ["legal"]
    assert queries.instance(sg, called["deal"])["data"]["reviewer"] == "lou"


def test_legal_and_sales_may_not_open_claim_or_complete_it(sg, sign_in, called):
    for name in ("lou", "sam"):
        b = sign_in(name)
        assert f'/tasks/{called["task"]}"' not in b.get("/").get_data(as_text=True)
        assert b.get(f"/tasks/{called['task']}").status_code == 403
        before = stored(sg)
        assert b.post(f"/tasks/{called['task']}/claim").status_code == 403
        r = b.post(f"/tasks/{called['task']}", {"reviewer": name})
        assert r.status_code == 403 and f"{name} may not work on 'Assign reviewer'" in text(r)
        assert stored(sg) == before


def test_the_api_completes_it_for_finance_only(sg, called, app):
    client = app.test_client()

    def complete(user, data):
        token = create_token(sg, user, user, "test")["token"]
        return client.post(f"/api/v1/tasks/{called['task']}/complete", json={"data": data},
                           headers={"Authorization": f"Bearer {token}"})

    r = complete("lou", {"reviewer": "lou"})
    assert r.status_code == 403 and "needs the role 'finance'" in r.get_json()["error"]
    r = complete("fiona", {"reviewer": "lou"})
    assert r.status_code == 200, r.get_json()
    assert [t["name"] for t in r.get_json()["ready_tasks"]] == ["Review the contract"]
