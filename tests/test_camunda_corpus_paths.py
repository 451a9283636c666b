"""Camunda's own models whose user tasks name nobody (open to anyone, as in Camunda) deployed from
../shared/corpus/camunda unchanged and driven along their paths: who may work each task, its form,
where each gateway and timer leads. Every step runs on a freshly built runtime, so the deal is
saved and restored through the serializer at each user task."""
from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

import pytest

from engine.clock import FrozenClock, iso
from engine.errors import FormInvalid, InvalidDiagram, Refused
from engine.queries import inbox as inbox_queries, records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from engine.services.timers import fire_due_timers
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "camunda"
ANYONE = {"roles": [], "candidate_users": [], "claimed_by": None}


@pytest.fixture
def world(make_sg, staff):
    """A fresh runtime per call (on one frozen clock), the corpus file(s) deployed as they are."""
    staff({"sam": ["Sales"], "mary": ["Accounting"], "gonzo": ["Management"], "demo": ["Accounting"],
           "john": ["Support"], "peter": ["Sales"], "user1": ["Support"], "ada": ["Auditor"], "dan": ["Dummy"]})
    clock = FrozenClock()
    fresh = partial(make_sg, clock=clock)
    fresh.clock = clock

    def deployed(*names) -> list[dict]:
        return deploy(fresh(), [(n, (CORPUS / n).read_bytes()) for n in names], "cli:test")
    fresh.deploy = deployed
    return fresh


def ready(sg, iid) -> dict[str, dict]:
    return {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=iid)}


def who(task: dict) -> dict:
    return {k: task[k] for k in ANYONE}


def warned_nobody(results) -> set[str]:
    return {r["element_id"] for r in results if r["kind"] == "warning" and "names nobody" in r["reason"]}


def ended(world, iid) -> tuple:
    deal = queries.instance(world(), iid)
    return deal["status"], deal["ended_at_element"]


@pytest.mark.parametrize("approved, path, end", [
    (True, ["Task_1otws6s", "Task_1fbt88z"], "EndEvent_0zc07k5"),  # Prepare Bank Statement, Archive Invoice
    (False, ["Task_01363n3"], "EndEvent_0fmx4bw"),  # Send Rejection Notice
])
def test_react_example_approves_or_rejects_the_invoice(world, approved, path, end):
    """examples-react-example: its embedded forms are not shown, so 'Approve Invoice' is completed with
    the variable `approved` (API or CLI); its plain tasks go to a person, as every plain task does here."""
    assert warned_nobody(world.deploy("examples-react-example.bpmn")) == {"Task_1a9adlo"}
    iid = start_instance(world(), "reactExample", "sam", {})["id"]
    approve = ready(world(), iid)["Task_1a9adlo"]
    assert (approve["name"], who(approve), queries.task(world(), approve["id"])["form"]) == (
        "Approve Invoice", ANYONE, [])
    assert [t["name"] for t in inbox_queries.inbox(world(), "mary")["tasks"]] == ["Approve Invoice"]
    assert inbox_queries.inbox(world(), "ada")["tasks"] == []
    complete_task(world(), approve["id"], "mary", {"approved": approved})  # ${approved} / ${not approved}
    for element in path:
        [(eid, task)] = ready(world(), iid).items()
        assert (eid, who(task)) == (element, ANYONE)
        complete_task(world(), task["id"], "peter", {})
    assert ended(world, iid) == ("completed", end)


@pytest.mark.parametrize("flag, task, name", [(False, "UserTask_1", "First User Task"),
                                              (True, "UserTask_2", "Second User Task")])
def test_process_with_exclusive_gateway_takes_the_way_booleanvar_says(world, flag, task, name):
    """webapps process-with-exclusive-gateway: ${!booleanVar} and ${booleanVar}, booleanVar sent at the start."""
    assert warned_nobody(world.deploy("platform-webapps-process-with-exclusive-gateway.bpmn")) == {
        "UserTask_1", "UserTask_2"}
    iid = start_instance(world(), "ProcessWithExclusiveGateway", "sam", {"booleanVar": flag})["id"]
    [(eid, t)] = ready(world(), iid).items()
    assert (eid, t["name"], who(t)) == (task, name, ANYONE)
    complete_task(world(), t["id"], "gonzo", {})
    assert ended(world, iid) == ("completed", "EndEvent_1")


def test_parallel_user_tasks_each_worked_by_whom_it_names(world):
    """webapps parallel-user-tasks: user-task-1 names nobody, -2 candidate groups, -3 the assignee user1."""
    assert warned_nobody(world.deploy("platform-webapps-parallel-user-tasks.bpmn")) == {"UserTask_0ujik1p"}
    iid = start_instance(world(), "parallel-user-tasks", "sam", {})["id"]
    tasks = ready(world(), iid)
    assert {eid: who(t) for eid, t in tasks.items()} == {
        "UserTask_0ujik1p": ANYONE,
        "UserTask_1ccevwb": {"roles": ["accounting", "management"], "candidate_users": [], "claimed_by": None},
        "UserTask_0saxicd": {"roles": [], "candidate_users": ["user1"], "claimed_by": "user1"}}
    with pytest.raises(Refused, match="needs the role 'accounting' or 'management'"):
        complete_task(world(), tasks["UserTask_1ccevwb"]["id"], "sam", {})
    complete_task(world(), tasks["UserTask_1ccevwb"]["id"], "gonzo", {})
    complete_task(world(), tasks["UserTask_0saxicd"]["id"], "user1", {})
    assert ended(world, iid) == ("running", None)  # the join waits for user-task-1
    complete_task(world(), tasks["UserTask_0ujik1p"]["id"], "sam", {})
    assert ended(world, iid) == ("completed", "EndEvent_00dqp8u")


def test_user_task_identity_links_read_the_activiti_namespace_as_camunda(world):
    """webapps user-task-identity-links: its `camunda` prefix is the legacy Activiti namespace."""
    assert warned_nobody(world.deploy("platform-webapps-user-task-identity-links.bpmn")) == {"UserTask_2"}
    iid = start_instance(world(), "userTaskIdentityLinksTestProcess", "sam", {})["id"]
    tasks = ready(world(), iid)
    assert {eid: who(t) for eid, t in tasks.items()} == {
        "UserTask_1": {"roles": ["accounting", "sales"], "candidate_users": ["mary", "jonny1", "peter", "demo"],
                       "claimed_by": "demo"},
        "UserTask_2": ANYONE,
        "UserTask_3": {"roles": ["accounting", "management"], "candidate_users": ["demo", "john"],
                       "claimed_by": "john"}}
    with pytest.raises(Refused, match="claimed by john"):
        complete_task(world(), tasks["UserTask_3"]["id"], "gonzo", {})
    for eid, user in (("UserTask_3", "john"), ("UserTask_2", "john"), ("UserTask_1", "demo")):
        complete_task(world(), tasks[eid]["id"], user, {})
    assert ended(world, iid)[0] == "completed"
    done = {e["element_id"]: e["details"] for e in queries.history(world(), iid) if e["kind"] == "task_completed"}
    assert done["UserTask_1"]["role"] == "accounting"  # demo holds one of its groups
    assert (done["UserTask_2"]["as"], done["UserTask_2"]["staff_roles"]) == ("anyone (staff)", ["support"])
    assert done["UserTask_3"]["as"] == "candidate user"  # john is its assignee, not in its groups


def test_expression_on_timer_fires_after_the_duration_sent_at_the_start(world):
    """BoundaryTimerEventTest.testExpressionOnTimer, unchanged: `${duration}` comes as a start variable."""
    assert warned_nobody(world.deploy("platform-engine-BoundaryTimerEventTest.testExpressionOnTimer.bpmn20.xml")) \
        == {"task"}
    iid = start_instance(world(), "testExpressionOnTimer", "sam", {"duration": "PT1H"})["id"]
    task = ready(world(), iid)["task"]
    assert (task["name"], who(task), task["due_at"]) == ("Task rigged with timer", ANYONE,
                                                         iso(world.clock.now() + timedelta(hours=1)))
    world.clock.advance(minutes=59)
    assert fire_due_timers(world())["fired"] == 0
    world.clock.advance(minutes=2)
    assert fire_due_timers(world())["fired"] == 1
    assert ended(world, iid) == ("completed", "theEnd")
    assert ready(world(), iid) == {}


@pytest.mark.parametrize("wait, escalated_to", [(None, None), (61, "thirdTask"), (181, "thirdTask")])
def test_multiple_timers_on_a_user_task_the_first_due_wins(world, wait, escalated_to):
    """testMultipleTimersOnUserTask: timers of 2h, 1h and 3h on 'First Task'; the 1h one leads to 'Third Task'."""
    assert warned_nobody(world.deploy("platform-engine-BoundaryTimerEventTest.testMultipleTimersOnUserTask.bpmn20.xml")) \
        == {"firstTask", "secondTask", "thirdTask", "fourthTask"}
    iid = start_instance(world(), "multipleTimersOnUserTask", "sam", {})["id"]
    first = ready(world(), iid)["firstTask"]
    assert (first["name"], who(first), first["due_at"]) == ("First Task", ANYONE,
                                                            iso(world.clock.now() + timedelta(hours=1)))
    if wait is None:
        complete_task(world(), first["id"], "mary", {})
        assert ended(world, iid) == ("completed", "theEnd")
        return
    world.clock.advance(minutes=wait)
    assert fire_due_timers(world())["fired"] == 1
    [(eid, task)] = ready(world(), iid).items()
    assert (eid, task["name"], who(task)) == (escalated_to, "Third Task", ANYONE)
    assert fire_due_timers(world())["fired"] == 0  # the other timers went with the task they were on
    complete_task(world(), task["id"], "mary", {})
    assert ended(world, iid) == ("completed", "escalatedEnd")


JAVA_VALIDATOR = re.compile(r'<camunda:validation>\s*<camunda:constraint name="validator"[^>]*/>\s*</camunda:validation>')


def without_java_validator(name: str) -> bytes:
    """FormServiceTest's file with the one thing it needs Java for removed: customField's CustomValidator
    (refused as written: camunda_corpus_refusals.json)."""
    xml, n = JAVA_VALIDATOR.subn("", (CORPUS / name).read_text())
    assert n == 1
    return xml.encode()


def test_form_service_start_form_fields_with_their_defaults_and_constraints(world):
    name = "platform-engine-FormServiceTest.startFormFields.bpmn20.xml"
    deploy(world(), [(name, without_java_validator(name))], "cli:test")
    with pytest.raises(FormInvalid) as exc:
        start_instance(world(), "testProcess", "sam", {"stringField": "abc", "longField": 11})
    assert exc.value.errors == {"stringField": "must be at least 5 characters", "longField": "must be at most 10"}
    iid = start_instance(world(), "testProcess", "sam", {})["id"]
    assert queries.instance(world(), iid)["data"] == {"stringField": "someString", "longField": 5,
                                                      "dateField": "2013-01-10"}
    task = ready(world(), iid)["usertask"]
    assert (task["name"], task["roles"]) == ("Task", ["dummy"])  # camunda:candidateGroups="dummy"
    complete_task(world(), task["id"], "dan", {})
    task2 = ready(world(), iid)["task2"]
    assert (task2["name"], who(task2)) == ("task2", ANYONE)  # no name: known by its id
    complete_task(world(), task2["id"], "sam", {})
    assert ended(world, iid) == ("completed", None)  # task2 has no outgoing flow: the deal ends there, as in Camunda


def test_form_service_task_form_fields(world):
    name = "platform-engine-FormServiceTest.taskFormFields.bpmn20.xml"
    deploy(world(), [(name, without_java_validator(name))], "cli:test")
    iid = start_instance(world(), "testProcess", "sam", {})["id"]
    task = ready(world(), iid)["usertask"]
    assert [(f["id"], f["type"], f["default"], f["constraints"]) for f in queries.task(world(), task["id"])["form"]] == [
        ("stringField", "string", "someString", {"maxlength": "10", "minlength": "5"}),
        ("longField", "long", "5", {"max": "10", "min": "3"}),
        ("customField", "string", None, {})]
    with pytest.raises(FormInvalid, match="longField: must be at least 3"):
        complete_task(world(), task["id"], "dan", {"longField": 2})
    complete_task(world(), task["id"], "dan", {"stringField": "hello", "customField": "x"})
    assert queries.instance(world(), iid)["data"] == {"stringField": "hello", "longField": 5, "customField": "x"}
    assert who(ready(world(), iid)["task2"]) == ANYONE


def test_a_constraint_camunda_does_not_know_is_refused_naming_what_to_use(world):
    """As Camunda refuses it at deploy ("Cannot find validator implementation"), saying what to write instead."""
    name = "platform-engine-FormServiceTest.taskFormFields.bpmn20.xml"
    xml = without_java_validator(name).replace(b'name="minlength"', b'name="pattern"')
    with pytest.raises(InvalidDiagram) as exc:
        deploy(world(), [(name, xml)], "cli:test")
    assert [(p.element_id, p.reason) for p in exc.value.problems] == [
        ("usertask", "form field 'stringField' constraint 'pattern' is not one Camunda forms know: use required, "
                     "readonly, minlength, maxlength, min, max, or check the value in a Python script task after the form")]


def test_invoice_v1_deploys_with_the_files_it_belongs_with(world):
    """platform-invoice.v1 is refused alone (its decision and called process are elsewhere); with
    invoiceBusinessDecisions.dmn and reviewInvoice.bpmn it deploys, its two Java delegates (Notify
    Creditor, Archive Invoice) becoming external tasks. Its paths are v2's (tests/test_camunda_invoice.py)
    but for Notify Creditor, a worker's step after approval."""
    results = world.deploy("platform-invoice.v1.bpmn", "platform-invoiceBusinessDecisions.dmn",
                           "platform-reviewInvoice.bpmn")
    assert {r["id"] for r in results if r["kind"] == "process"} == {"invoice", "ReviewInvoice"}
    assert not warned_nobody(results)  # its tasks are in lanes or name who works them
