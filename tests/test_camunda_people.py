"""Who works a task, as Camunda 7 models say it: candidate groups and users (names or JUEL, decided
when the task opens), camunda:assignee and humanPerformer (the task opens claimed), potentialOwner,
camunda:initiator; a lane grants its role only to tasks naming none of these."""
from __future__ import annotations

import re

import pytest

from engine import queries
from engine.claims import claim_task
from engine.deployment import deploy
from engine.errors import Refused, StepFailed
from engine.instances import complete_task, start_instance
from tests import diagram_factory as f
from tests.conftest import SHARED

VACATION = SHARED / "corpus" / "camunda" / "platform-engine-VacationRequest.bpmn20.xml"


def with_form_data(xml: str) -> str:
    """Camunda's old camunda:formProperty forms as camunda:formData (the engine reads formData only):
    the process itself, its JUEL, its potentialOwner and humanPerformer stay as the file has them."""
    xml = xml.replace("<extensionElements>", "<extensionElements><camunda:formData>")
    xml = xml.replace("</extensionElements>", "</camunda:formData></extensionElements>")
    xml = re.sub(r'<camunda:formProperty ([^>]*?)(/?)>', lambda m: "<camunda:formField " + re.sub(
        r'\s(value|required|datePattern)="[^"]*"', "", m.group(1)).replace(" name=", " label=") + m.group(2) + ">", xml)
    return xml.replace("</camunda:formProperty>", "</camunda:formField>").replace('type="date"', 'type="string"')


@pytest.fixture
def vacation(make_sg, staff):
    staff({"kermit": ["Employee"], "gonzo": ["Management"], "fozzie": ["Employee"]})
    deploy(make_sg(), [(VACATION.name, with_form_data(VACATION.read_text()).encode())], "cli:test")
    return make_sg


def the_task(sg, iid):
    [task] = queries.ready_tasks(sg, instance_id=iid)
    return task


def test_vacation_request_runs_as_camunda_assigns_it(vacation):
    """Camunda's own VacationRequest: the initiator is recorded, management handles the request
    (potentialOwner), a rejection goes back to the employee who asked (humanPerformer ${employeeName})."""
    iid = start_instance(vacation(), "vacationRequest", "kermit",
                         {"numberOfDays": 3, "startDate": "2027-01-04", "vacationMotivation": "skiing"})["id"]
    sg = vacation()
    assert queries.instance(sg, iid)["data"]["employeeName"] == "kermit"  # camunda:initiator
    handle = the_task(sg, iid)
    assert (handle["element_id"], handle["roles"], handle["claimed_by"]) == ("handleRequest", ["management"], None)
    with pytest.raises(Refused, match="needs the role 'management'"):
        claim_task(vacation(), handle["id"], "kermit")
    complete_task(vacation(), handle["id"], "gonzo", {"vacationApproved": "false", "managerMotivation": "busy month"})

    sg = vacation()
    adjust = the_task(sg, iid)
    assert (adjust["element_id"], adjust["claimed_by"], adjust["candidate_users"]) == (
        "adjustVacationRequestTask", "kermit", ["kermit"])
    with pytest.raises(Refused):
        complete_task(vacation(), adjust["id"], "fozzie", {"resendRequest": "false"})
    complete_task(vacation(), adjust["id"], "kermit", {"numberOfDays": 2, "startDate": "2027-01-05",
                                                      "resendRequest": "true"})  # ${resendRequest == 'true'}
    again = the_task(vacation(), iid)
    assert again["element_id"] == "handleRequest"
    complete_task(vacation(), again["id"], "gonzo", {"vacationApproved": "true"})
    # ${vacationApproved == 'true'}: on to the confirmation mail (a plain bpmn:task, which the engine
    # gives to a person; Camunda would pass through it)
    assert the_task(vacation(), iid)["element_id"] == "sendApprovalMail"
    events = [e for e in queries.history(vacation(), iid) if e["kind"] == "task_assigned"]
    assert [(e["details"]["task_name"], e["details"]["assignee"]) for e in events] == [
        ("Adjust vacation request", "kermit")]


def approval(assignment: str, lane: bool = True) -> str:
    """A request in the Sales lane, approved by whom `assignment` names, its groups chosen at start."""
    task = (f'<bpmn:userTask id="Approve" name="Approve" {assignment}><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="ok" type="boolean" /></camunda:formData></bpmn:extensionElements></bpmn:userTask>')
    lanes = ('<bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_Sales" name="Sales"><bpmn:flowNodeRef>Ask</bpmn:flowNodeRef>'
             '<bpmn:flowNodeRef>Approve</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>') if lane else ""
    return f.definitions(f'''  <bpmn:process id="request" name="Request" isExecutable="true">
    {lanes}
    <bpmn:startEvent id="Ask"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="approverGroups" type="string" /><camunda:formField id="approver" type="string" />
    </camunda:formData></bpmn:extensionElements></bpmn:startEvent>
    {task}
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="F1" sourceRef="Ask" targetRef="Approve" />
    <bpmn:sequenceFlow id="F2" sourceRef="Approve" targetRef="Done" />
  </bpmn:process>
''', "request")


@pytest.fixture
def people(sg, staff):
    staff({"sam": ["Sales"], "fiona": ["Finance"], "mary": ["Management"], "otto": ["Operations"]})
    return sg


def opened(sg, assignment, **start):
    deploy(sg, f.files(("request.bpmn", approval(assignment))), "cli:test")
    iid = start_instance(sg, "request", "sam", start)["id"]
    return iid, the_task(sg, iid)


def test_candidate_groups_from_an_expression_replace_the_lane(people):
    iid, task = opened(people, 'camunda:candidateGroups="${approverGroups}"', approverGroups="Finance, Management")
    assert task["roles"] == ["finance", "management"]  # not the Sales lane: the task names its groups
    with pytest.raises(Refused):
        claim_task(people, task["id"], "sam")
    assert claim_task(people, task["id"], "mary")["claimed_by"] == "mary"


def test_a_lane_grants_its_role_to_a_task_naming_nobody(people):
    _, task = opened(people, "")
    assert task["roles"] == ["sales"]


def test_an_assignee_expression_opens_the_task_claimed_by_that_user(people):
    _, task = opened(people, 'camunda:assignee="${approver}" camunda:candidateGroups="Finance"', approver="otto")
    assert (task["claimed_by"], task["roles"], task["candidate_users"]) == ("otto", ["finance"], ["otto"])
    with pytest.raises(Refused, match="claimed by otto"):
        complete_task(people, task["id"], "fiona", {"ok": True})
    assert complete_task(people, task["id"], "otto", {"ok": True})["status"] == "completed"


def test_an_assignee_who_is_no_user_leaves_the_task_to_its_candidates_and_the_audit_says_so(people):
    iid, task = opened(people, 'camunda:assignee="nobody" camunda:candidateGroups="Finance"')
    assert task["claimed_by"] is None and task["roles"] == ["finance"]
    [event] = [e for e in queries.history(people, iid) if e["kind"] == "task_assignee_unknown"]
    assert "'nobody', who is no active user" in event["details"]["reason"]


def test_candidate_users_from_an_expression(people):
    _, task = opened(people, 'camunda:candidateUsers="${approver}, mary"', approver="otto")
    assert (task["roles"], task["candidate_users"]) == ([], ["mary", "otto"])  # names as written, then evaluated


def test_an_expression_that_fails_when_the_task_opens_is_an_incident_and_nothing_starts(people):
    deploy(people, f.files(("request.bpmn", approval('camunda:candidateGroups="${reviewers}"'))), "cli:test")
    with pytest.raises(StepFailed) as exc:
        start_instance(people, "request", "sam", {})
    assert "reviewers" in str(exc.value)
    assert queries.ready_tasks(people) == []
