"""A task that names nobody, as staff meet it in the browser: the inbox's "Open to anyone" part,
claimed and completed from there; the designer's validation warns of it."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from engine.services.users import add_user
from tests import diagram_factory as f
from tests.test_open_to_anyone import WARNING, order

from .conftest import text


@pytest.fixture
def check(sg, app):
    add_user(sg, "root", ["Administrator"], "cli:test")
    deploy(sg, f.files(("order.bpmn", order())), "cli:test")
    iid = start_instance(sg, "order", "sam", {})["id"]
    [task] = queries.ready_tasks(sg, instance_id=iid)
    return {"deal": iid, "task": task["id"]}


def test_staff_find_it_in_the_open_to_anyone_part_and_work_it(sg, sign_in, check):
    quinn = sign_in("quinn")  # Quality: no lane of this process is hers
    page = quinn.get("/").get_data(as_text=True)
    part = page[page.index('<section class="open-to-anyone"'):]
    assert "Open to anyone" in part and f'href="/tasks/{check["task"]}">Check the order</a>' in part
    assert f'href="/tasks/{check["task"]}">Check the order</a>' not in page[:page.index('<section class="open-to-anyone"')]
    r = quinn.post(f"/tasks/{check['task']}/claim", {"next": "/"})
    assert r.status_code == 302
    sams = sign_in("sam").get("/").get_data(as_text=True)
    assert '<td data-label="Claimed by">quinn</td>' in sams[sams.index('<section class="open-to-anyone"'):]
    task_page = quinn.get(f"/tasks/{check['task']}")
    assert task_page.status_code == 200 and "Role: anyone (any staff member may work it)" in text(task_page)
    assert quinn.get(f"/deals/{check['deal']}").status_code == 200
    r = quinn.post(f"/tasks/{check['task']}", {"ok": "true"}, page=f"/tasks/{check['task']}")
    assert r.status_code == 302, text(r)
    assert queries.instance(sg, check["deal"])["status"] == "completed"


@pytest.mark.parametrize("name", ["ada", "root", "dora"])  # auditor, administrator, designer only
def test_accounts_without_a_working_role_neither_see_nor_open_it(sign_in, check, name):
    who = sign_in(name)
    assert "Open to anyone" not in who.get("/").get_data(as_text=True)
    assert who.get(f"/tasks/{check['task']}").status_code == 403


def test_the_designer_validation_shows_the_warning(sign_in, app):
    from tests.web.test_designer import post_json
    r = post_json(sign_in("dora"), "/designer/validate", {"xml": order()})
    assert r.status_code == 200 and r.json["ok"] is True, r.get_data(as_text=True)
    assert [(p["severity"], p["element_id"], p["reason"]) for p in r.json["problems"]] == [("warning", "Check", WARNING)]
