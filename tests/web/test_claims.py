"""Claiming, releasing and reassigning tasks; a claimed task is only for its claimant."""
import pytest

from engine.queries import records as queries
from engine.services.users import add_user
from tests.snapshot import stored

from .conftest import text


@pytest.fixture
def pricing(sg, driver):
    """A pricing sign-off waiting for Finance, and a second Finance user."""
    add_user(sg, "frank", ["Finance"], "cli:test")
    iid = driver.to_sign_offs()
    return {"deal": iid, "task": driver.ready(iid)["Task_SignOffPricing"]["id"]}


def claimed_by(sg, task_id):
    return queries.task(sg, task_id)["claimed_by"]


def test_claim_then_release_from_the_inbox(sg, sign_in, pricing):
    b = sign_in("fiona")
    r = b.post(f"/tasks/{pricing['task']}/claim", {"next": "/?role=finance"})
    assert r.status_code == 302 and r.location == "/?role=finance", "back to the same inbox view"
    page = b.get("/?role=finance")
    assert "You claimed the task" in text(page)
    assert 'data-label="Claimed by">fiona' in page.get_data(as_text=True)
    assert f'/tasks/{pricing["task"]}/unclaim' in page.get_data(as_text=True), "a Release button"
    assert claimed_by(sg, pricing["task"]) == "fiona"
    r = b.post(f"/tasks/{pricing['task']}/unclaim")
    assert r.status_code == 302 and r.location == "/"
    assert claimed_by(sg, pricing["task"]) is None
    assert "back in its role" in text(b.get("/"))


def test_claim_redirect_ignores_foreign_next(sign_in, pricing):
    r = sign_in("fiona").post(f"/tasks/{pricing['task']}/claim", {"next": "https://evil.example/"})
    assert r.location == "/"


def test_a_task_claimed_by_someone_else_cannot_be_claimed_completed_or_released(sg, sign_in, pricing):
    sign_in("fiona").post(f"/tasks/{pricing['task']}/claim")
    frank = sign_in("frank")
    inbox = frank.get("/").get_data(as_text=True)
    assert 'data-label="Claimed by">fiona' in inbox
    assert f'/tasks/{pricing["task"]}/claim"' not in inbox and f'/tasks/{pricing["task"]}/unclaim"' not in inbox
    page = text(frank.get(f"/tasks/{pricing['task']}"))
    assert "fiona has claimed this task: only they can complete it" in page

    before = stored(sg)
    r = frank.post(f"/tasks/{pricing['task']}/claim")
    assert r.status_code == 409 and "already claimed by fiona" in text(r)
    r = frank.post(f"/tasks/{pricing['task']}", {"pricing_approved": "true", "finance_comment": "ok"})
    assert r.status_code == 403
    assert "is claimed by fiona; only they can complete it" in text(r)
    r = frank.post(f"/tasks/{pricing['task']}/unclaim")
    assert r.status_code == 403 and "may not release fiona's claim" in text(r)
    assert stored(sg) == before


def test_the_department_head_reassigns_from_the_deal_page(sg, sign_in, pricing):
    sign_in("fiona").post(f"/tasks/{pricing['task']}/claim")
    carl = sign_in("carl")  # Finance Head: heads Finance without holding it
    page = carl.get(f"/deals/{pricing['deal']}").get_data(as_text=True)
    assert f'action="/tasks/{pricing["task"]}/reassign"' in page
    assert '<option value="frank">frank</option>' in page and '<option value="fiona">fiona (holds it)</option>' in page
    assert '<option value="" selected>choose a person</option>' in page, "nobody is preselected, not even the holder"
    r = carl.post(f"/tasks/{pricing['task']}/reassign", {"to_user": "frank", "next": f"/deals/{pricing['deal']}"})
    assert r.status_code == 302 and r.location == f"/deals/{pricing['deal']}"
    assert claimed_by(sg, pricing["task"]) == "frank"
    assert "The task is now with frank" in text(carl.get(f"/deals/{pricing['deal']}"))
    r = carl.post(f"/tasks/{pricing['task']}/unclaim")
    assert r.status_code == 302 and claimed_by(sg, pricing["task"]) is None, "the head may release any claim"


def test_reassign_form_only_for_the_department_head(sign_in, pricing):
    for name in ("fiona", "hank", "lena"):
        page = sign_in(name).get(f"/deals/{pricing['deal']}").get_data(as_text=True)
        assert f'/tasks/{pricing["task"]}/reassign' not in page, name
    assert "/reassign" not in sign_in("fiona").get("/").get_data(as_text=True)


def test_the_head_also_sees_the_reassign_form_in_the_inbox_when_holding_the_role(sg, sign_in, pricing):
    add_user(sg, "cora", ["Finance", "Finance Head"], "cli:test")
    page = sign_in("cora").get("/").get_data(as_text=True)
    assert f'action="/tasks/{pricing["task"]}/reassign"' in page


@pytest.mark.parametrize("name", ["fiona", "hank"])
def test_only_the_department_head_may_reassign(sg, sign_in, pricing, name):
    b = sign_in(name)
    before = stored(sg)
    r = b.post(f"/tasks/{pricing['task']}/reassign", {"to_user": "frank"})
    assert r.status_code == 403
    assert "may not reassign 'Sign off pricing and margin'" in text(r)
    assert stored(sg) == before and claimed_by(sg, pricing["task"]) is None


def test_reassigning_to_someone_without_the_role_is_refused(sg, sign_in, pricing):
    r = sign_in("carl").post(f"/tasks/{pricing['task']}/reassign", {"to_user": "pete"})
    assert r.status_code == 403 and "pete cannot take 'Sign off pricing and margin'" in text(r)
    assert claimed_by(sg, pricing["task"]) is None


def test_claiming_a_task_of_another_role_is_refused(sg, sign_in, pricing):
    r = sign_in("pete").post(f"/tasks/{pricing['task']}/claim")
    assert r.status_code == 403 and claimed_by(sg, pricing["task"]) is None
