"""A department head reads every task they may reassign (task page, its deal), and still completes none."""
import pytest

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from engine.services.users import add_user
from tests.snapshot import stored

from .conftest import text


@pytest.fixture
def pricing(sg, driver):
    """A pricing sign-off waiting for Finance; carl is the Finance Head (and holds no Finance role)."""
    add_user(sg, "frank", ["Finance"], "cli:test")
    iid = driver.to_sign_offs()
    return {"deal": iid, "task": driver.ready(iid)["Task_SignOffPricing"]["id"]}


def test_the_head_opens_his_departments_task_from_the_inbox_and_may_reassign_it(sg, sign_in, pricing):
    carl = sign_in("carl")
    inbox = carl.get("/").get_data(as_text=True)
    assert f'href="/tasks/{pricing["task"]}"' in inbox and "your department" in inbox
    r = carl.get(f"/tasks/{pricing['task']}")
    assert r.status_code == 200, text(r)
    page = text(r)
    assert "Sign off pricing and margin" in page and "Acme pumps" in page, "the task and its deal"
    assert "You head the department of this task: you may release or reassign it" in page
    assert "Completing it needs the role Finance" in page
    html = r.get_data(as_text=True)
    assert f'action="/tasks/{pricing["task"]}/reassign"' in html
    assert '<option value="fiona"' in html and '<option value="frank"' in html
    assert f'action="/tasks/{pricing["task"]}"' not in html, "no form to complete it"
    assert f'action="/tasks/{pricing["task"]}/claim"' not in html, "nothing to claim: he may not work it"
    r = carl.post(f"/tasks/{pricing['task']}/reassign", {"to_user": "frank"}, page=f"/tasks/{pricing['task']}")
    assert r.status_code == 302
    page = text(carl.get(f"/tasks/{pricing['task']}"))
    assert "it is claimed by frank" in page


def test_the_head_still_may_not_complete_the_task(sg, sign_in, pricing):
    carl = sign_in("carl")
    before = stored(sg)
    r = carl.post(f"/tasks/{pricing['task']}", {"pricing_approved": "true", "finance_comment": "fine"},
                  page=f"/tasks/{pricing['task']}")
    assert r.status_code == 403
    assert "carl may not work on 'Sign off pricing and margin': it needs the role 'finance'" in text(r)
    assert stored(sg) == before


def test_someone_from_another_department_still_gets_403(sg, sign_in, pricing):
    for name in ("hedy", "quinn", "lou"):  # Quality Head, Quality, Legal
        r = sign_in(name).get(f"/tasks/{pricing['task']}")
        assert r.status_code == 403, name
        assert "Acme pumps" not in r.get_data(as_text=True)


def test_the_head_reads_the_deal_page_of_his_departments_task(sg, sign_in, app, revision_loop):
    """revision_loop has no Finance Head lane: before, only the Finance lane could see its deals."""
    deal = start_instance(sg, "revision_loop", "sam", {})
    [draft] = queries.ready_tasks(sg, instance_id=deal["id"])
    complete_task(sg, draft["id"], "sam", {"revision_note": "first cut"})
    [review] = queries.ready_tasks(sg, instance_id=deal["id"])
    carl = sign_in("carl")
    assert carl.get(f"/tasks/{review['id']}").status_code == 200
    r = carl.get(f"/deals/{deal['id']}")
    assert r.status_code == 200 and "Review quote" in text(r)
    assert f'action="/tasks/{review["id"]}/reassign"' in r.get_data(as_text=True)
    assert sign_in("hank").get(f"/deals/{deal['id']}").status_code == 403, "Supply Head heads no role of it"
