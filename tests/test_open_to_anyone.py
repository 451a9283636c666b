"""A user task in no lane that names nobody (as Camunda Modeler users often leave it) deploys with a
warning and is open to anyone, as in Camunda: every staff member's inbox shows it, any of them may
claim and complete it, and the audit says they worked it as anyone, with the working roles they
held. Accounts holding only the engine's access roles (auditor, administrator, process designer,
integration) are no staff: they neither see nor work it."""
from __future__ import annotations

import pytest

from engine.bpmn import diagram_model, lint, xmlsafe
from engine.errors import Refused
from engine.queries import inbox as inbox_queries, records as queries, views
from engine.services import designer
from engine.services.claims import claim_task, reassign_task
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f

WARNING = ("task 'Check the order' names nobody: any staff member may claim it, as in Camunda; put it in a lane "
           "or name candidate groups to restrict it")


def order(check: str = "") -> str:
    """An order checked by whoever `check` names (nobody, by default), in no lane."""
    return f.definitions(f'''  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:startEvent id="Placed" />
    <bpmn:userTask id="Check" name="Check the order" {check}><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="ok" type="boolean" /></camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="F1" sourceRef="Placed" targetRef="Check" />
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="Done" />
  </bpmn:process>
''', "order")


CAST = {"sam": ["Sales"], "fiona": ["Finance"], "carl": ["Finance Head"], "ada": ["Auditor"],
        "root": ["Administrator"], "dora": ["Process Designer"], "erp": ["Integration"],
        "dot": ["Process Designer", "Quality"]}


@pytest.fixture
def opened(sg, staff):
    staff(CAST)
    results = deploy(sg, f.files(("order.bpmn", order())), "cli:test")
    iid = start_instance(sg, "order", "sam", {})["id"]
    [task] = queries.ready_tasks(sg, instance_id=iid)
    return {"sg": sg, "deal": iid, "task": task, "results": results}


def test_it_deploys_with_a_warning_saying_anyone_may_claim_it(opened):
    [warning] = [r for r in opened["results"] if r["kind"] == "warning"]
    assert (warning["element_id"], warning["reason"]) == ("Check", WARNING)
    assert (opened["task"]["roles"], opened["task"]["candidate_users"]) == ([], [])


def test_the_designer_shows_the_warning(sg, staff):
    staff({"dora": ["Process Designer"]})
    problems = designer.validate(sg, "dora", "order.bpmn", order().encode())
    assert [(p["severity"], p["element_id"], p["reason"]) for p in problems] == [("warning", "Check", WARNING)]


@pytest.mark.parametrize("check", ['camunda:candidateGroups="Sales"', 'camunda:candidateUsers="sam"',
                                   'camunda:assignee="${owner}"'])
def test_a_task_naming_someone_has_no_such_warning(sg, check):
    results = deploy(sg, f.files(("order.bpmn", order(check))), "cli:test")
    assert not [r for r in results if r["kind"] == "warning" and "names nobody" in r["reason"]]


def test_every_staff_members_inbox_shows_it_as_open_to_anyone(opened):
    sg = opened["sg"]
    for name in ("sam", "fiona", "carl", "dot"):
        [item] = inbox_queries.inbox(sg, name)["tasks"]
        assert (item["name"], item["open_to_anyone"], item["may_work"], item["available"]) == (
            "Check the order", True, True, True), name
    for name in ("ada", "root", "dora", "erp"):
        assert inbox_queries.inbox(sg, name)["tasks"] == [], name
    assert [t["name"] for t in queries.ready_tasks(sg, user="fiona")] == ["Check the order"]


def test_accounts_without_a_working_role_may_not_claim_or_complete_it(opened):
    sg, task = opened["sg"], opened["task"]
    for name in ("root", "dora", "erp"):
        with pytest.raises(Refused, match=f"{name} may not claim 'Check the order': it names nobody, so any staff "
                                          f"member may work it, and {name} holds no working role"):
            claim_task(sg, task["id"], name)
        with pytest.raises(Refused, match="holds no working role"):
            complete_task(sg, task["id"], name, {"ok": True})
    with pytest.raises(Refused, match="ada is an auditor"):
        claim_task(sg, task["id"], "ada")
    with pytest.raises(Refused, match="may not work on 'Check the order'"):
        views.task(sg, task["id"], "root")


def test_a_staff_member_claims_and_completes_it_and_the_audit_records_how(opened):
    sg, task, iid = opened["sg"], opened["task"], opened["deal"]
    page = views.task(sg, task["id"], "fiona")  # fiona works nothing else of this process: the task opens the deal
    assert page["task"]["may_work"] and page["deal"]["id"] == iid
    claim_task(sg, task["id"], "fiona")
    assert inbox_queries.inbox(sg, "sam")["tasks"][0]["claimed_by"] == "fiona"
    with pytest.raises(Refused, match="claimed by fiona"):
        complete_task(sg, task["id"], "sam", {"ok": True})
    assert complete_task(sg, task["id"], "fiona", {"ok": True})["status"] == "completed"
    [done] = [e for e in queries.history(sg, iid) if e["kind"] == "task_completed"]
    assert (done["actor"], done["details"]["role"], done["details"]["as"], done["details"]["staff_roles"]) == (
        "fiona", None, "anyone (staff)", ["finance"])
    assert inbox_queries.inbox(sg, "sam")["tasks"] == []


def test_no_department_head_oversees_it(opened):
    with pytest.raises(Refused, match="it has no role, so no department head oversees it"):
        reassign_task(opened["sg"], opened["task"]["id"], "carl", "fiona")


def test_the_designer_lint_says_nothing_more_of_it():
    [model] = diagram_model.bpmn_models(xmlsafe.parse(order().encode()), "order.bpmn")
    assert lint.lint_design(model, {"sales"}) == []
