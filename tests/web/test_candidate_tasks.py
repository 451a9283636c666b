"""Tasks outside any lane, worked by their candidate groups and users, as staff meet them in the browser."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from engine.services.users import add_user
from tests import diagram_factory as f
from tests.test_candidate_groups import expense

from .conftest import text


@pytest.fixture
def claim(sg, app):
    add_user(sg, "alice", ["Accounting"], "cli:test")
    add_user(sg, "mary", ["Finance"], "cli:test")
    deploy(sg, f.files(("expense.bpmn", expense())), "cli:test")
    iid = start_instance(sg, "expense", "fiona", {})["id"]
    [approve] = queries.ready_tasks(sg, instance_id=iid)
    return {"deal": iid, "approve": approve["id"]}


def test_a_candidate_group_works_the_task_from_its_inbox(sg, sign_in, claim):
    alice = sign_in("alice")
    inbox = alice.get("/").get_data(as_text=True)
    assert f'href="/tasks/{claim["approve"]}">Approve the claim</a>' in inbox
    assert f'action="/tasks/{claim["approve"]}/claim"' in inbox
    assert alice.get(f"/tasks/{claim['approve']}").status_code == 200
    r = alice.post(f"/tasks/{claim['approve']}", {"approved": "true"}, page=f"/tasks/{claim['approve']}")
    assert r.status_code == 302, text(r)
    r = sign_in("fiona").get(f"/tasks/{claim['approve']}")
    assert r.status_code == 403


def test_a_candidate_user_works_the_task_that_names_only_them(sg, sign_in, claim):
    complete_task(sg, claim["approve"], "alice", {"approved": True})
    [countersign] = queries.ready_tasks(sg, instance_id=claim["deal"])
    mary = sign_in("mary")
    inbox = mary.get("/").get_data(as_text=True)
    assert f'href="/tasks/{countersign["id"]}">Countersign</a>' in inbox
    assert f'action="/tasks/{countersign["id"]}/claim"' in inbox
    page = mary.get(f"/tasks/{countersign['id']}")
    assert page.status_code == 200 and "Complete task" in text(page)
    assert mary.get(f"/deals/{claim['deal']}").status_code == 200
    for other in ("fiona", "alice"):
        assert sign_in(other).get(f"/tasks/{countersign['id']}").status_code == 403
    r = mary.post(f"/tasks/{countersign['id']}", {}, page=f"/tasks/{countersign['id']}")
    assert r.status_code == 302
    assert queries.instance(sg, claim["deal"])["status"] == "completed"
