"""Who works a task, as Camunda 7 models say it: candidate groups and users (names or JUEL, decided
when the task opens), camunda:assignee and humanPerformer (the task opens claimed), potentialOwner,
camunda:initiator; a lane grants its role only to tasks naming none of these."""
from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

import pytest

from engine.queries import records as queries, views
from engine.services.claims import claim_task
from engine.clock import FrozenClock, iso
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram, Refused, StepFailed
from engine.services.instances import complete_task, start_instance
from engine.store.models import Instance, ProcessVersion
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


def live_data(sg, iid: int, element_id: str) -> dict:
    """The data the engine holds for the ready task of `element_id` (what its process sees)."""
    with sg.uow(write=False) as uow:
        inst = uow.session.get(Instance, iid)
        row = uow.session.get(ProcessVersion, inst.process_version_id)
        spec, subs = sg.specs.spec_for(row.id, lambda: row.spec)
        wf = sg.specs.load_state(inst.state, spec, subs, sg.script_engine)
    tasks = list(wf.tasks.values()) + [t for sp in wf.subprocesses.values() for t in sp.tasks.values()]
    [task] = [t for t in tasks if getattr(t.task_spec, "bpmn_id", None) == element_id and t.state == 16]  # READY
    return dict(task.data)


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
    passed = [e["details"]["flows_taken"] for e in queries.history(vacation(), iid) if e["kind"] == "gateway_passed"]
    assert passed[-1] == [{"id": "flow7", "name": None, "target": "handleRequest", "default": False,
                           "condition": "juel_compare(resendRequest, '==', 'true')", "juel": "${resendRequest == 'true'}"}]
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
    assert views.deal(people, iid, "mary")["ready_tasks"][0]["may_work"]  # no lane of the diagram is hers
    with pytest.raises(Refused):
        views.deal(people, iid, "otto")
    with pytest.raises(Refused):
        claim_task(people, task["id"], "sam")
    assert claim_task(people, task["id"], "mary")["claimed_by"] == "mary"
    complete_task(people, task["id"], "mary", {"ok": True})
    [done] = [e for e in queries.history(people, iid) if e["kind"] == "task_completed"]
    assert done["details"]["role"] == "management"  # the role mary holds, not the task's first ("finance")


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
    iid, task = opened(people, 'camunda:candidateUsers="${approver}, mary"', approver="otto")
    assert (task["roles"], task["candidate_users"]) == ([], ["mary", "otto"])  # names as written, then evaluated
    complete_task(people, task["id"], "otto", {"ok": True})
    [done] = [e for e in queries.history(people, iid) if e["kind"] == "task_completed"]
    assert (done["details"]["role"], done["details"]["as"]) == (None, "candidate user")


def test_an_expression_that_fails_when_the_task_opens_is_an_incident_and_nothing_starts(people):
    deploy(people, f.files(("request.bpmn", approval('camunda:candidateGroups="${reviewers}"'))), "cli:test")
    with pytest.raises(StepFailed) as exc:
        start_instance(people, "request", "sam", {})
    assert "reviewers" in str(exc.value)
    assert queries.ready_tasks(people) == []


INVOICE = SHARED / "corpus" / "camunda"


def with_fields(xml: str, task_id: str, *fields: str) -> str:
    """Give the user task `task_id` a camunda:formData with these fields: Camunda's invoice example
    uses embedded HTML forms, which the engine does not show, to set them."""
    form = "".join(f'<camunda:formField id="{name}" type="{kind}" />' for name, kind in (f.split(":") for f in fields))
    head = re.search(rf'<bpmn:userTask id="{task_id}"[^>]*?(/?)>', xml)
    if head.group(1):  # <bpmn:userTask ... />
        return xml.replace(head.group(0), head.group(0)[:-2] + "><bpmn:extensionElements><camunda:formData>"
                           f"{form}</camunda:formData></bpmn:extensionElements></bpmn:userTask>", 1)
    end = xml.index("</bpmn:userTask>", head.end())
    at = xml.find("<bpmn:extensionElements>", head.end(), end)
    if at < 0:
        return xml[:head.end()] + f"<bpmn:extensionElements><camunda:formData>{form}</camunda:formData>" \
            "</bpmn:extensionElements>" + xml[head.end():]
    at += len("<bpmn:extensionElements>")
    return xml[:at] + f"<camunda:formData>{form}</camunda:formData>" + xml[at:]


def test_review_invoice_opens_each_task_claimed_by_its_assignee_with_its_due_date(make_sg, staff):
    """Camunda's reviewInvoice: `demo` assigns a reviewer (camunda:assignee="demo"), whose review
    (camunda:assignee="${reviewer}") is due in two days (${dateTime().plusDays(2).toDate()})."""
    staff({"demo": ["Accounting"], "peter": ["Accounting"], "sam": ["Sales"]})
    clock = FrozenClock()
    make_sg = partial(make_sg, clock=clock)
    xml = (INVOICE / "platform-reviewInvoice.bpmn").read_text()
    xml = with_fields(with_fields(xml, "assignReviewer", "reviewer:string"), "reviewInvoice", "clarified:boolean")
    sg = make_sg()
    deploy(sg, [("platform-reviewInvoice.bpmn", xml.encode())], "cli:test")
    iid = start_instance(make_sg(), "ReviewInvoice", "sam", {})["id"]
    assign = the_task(make_sg(), iid)
    assert (assign["element_id"], assign["claimed_by"], assign["due_at"]) == ("assignReviewer", "demo", None)
    complete_task(make_sg(), assign["id"], "demo", {"reviewer": "peter"})
    review = the_task(make_sg(), iid)
    assert (review["element_id"], review["claimed_by"]) == ("reviewInvoice", "peter")
    assert review["due_at"] == iso(clock.now() + timedelta(days=2))


def approve_invoice_alone() -> str:
    """Camunda's invoice v2 'Approve Invoice' task as the file has it (candidate groups ${approverGroups},
    due in a week, its two JavaScript listeners), with its two JUEL flows after it, in a small process."""
    xml = (INVOICE / "platform-invoice.v2.bpmn").read_text()
    task = re.search(r'<userTask id="approveInvoice".*?</userTask>', xml, re.S).group(0)
    task = re.sub(r"\s*<(incoming|outgoing)>[^<]*</\1>", "", task)
    task = re.sub(r"<(/?)(?!camunda:|!)(\w+)", r"<\1bpmn:\2", task)  # the file's default namespace is BPMN's
    xml = f.definitions(f'''  <bpmn:process id="approval" isExecutable="true">
    <bpmn:startEvent id="Invoice_In"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="approverGroups" type="string" /></camunda:formData></bpmn:extensionElements></bpmn:startEvent>
    {task}
    <bpmn:exclusiveGateway id="Approved" />
    <bpmn:endEvent id="Invoice_Out" />
    <bpmn:sequenceFlow id="F1" sourceRef="Invoice_In" targetRef="approveInvoice" />
    <bpmn:sequenceFlow id="F2" sourceRef="approveInvoice" targetRef="Approved" />
    <bpmn:sequenceFlow id="F3" sourceRef="Approved" targetRef="Invoice_Out"><bpmn:conditionExpression>${{approved}}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F4" sourceRef="Approved" targetRef="approveInvoice"><bpmn:conditionExpression>${{!approved}}</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
''', "approval")
    return with_fields(xml, "approveInvoice", "approved:boolean")


def test_the_invoice_approval_goes_back_to_the_approver_who_took_it_first(make_sg, staff):
    """Its create listener assigns the task to `approver` if set; its assignment listener sets `approver`
    to whoever took the task: so a second round goes to the same person, claimed."""
    staff({"mary": ["Accounting"], "bob": ["Accounting"], "sam": ["Sales"]})
    clock = FrozenClock()
    make_sg = partial(make_sg, clock=clock)
    deploy(make_sg(), f.files(("approval.bpmn", approve_invoice_alone())), "cli:test")
    sg = make_sg()
    iid = start_instance(sg, "approval", "sam", {"approverGroups": "accounting"})["id"]
    first = the_task(make_sg(), iid)
    assert (first["roles"], first["claimed_by"]) == (["accounting"], None)
    assert first["due_at"] == iso(clock.now() + timedelta(weeks=1))
    claim_task(make_sg(), first["id"], "mary")
    complete_task(make_sg(), first["id"], "mary", {"approved": False})
    again = the_task(make_sg(), iid)
    assert (again["roles"], again["claimed_by"]) == (["accounting"], "mary")
    assert queries.instance(make_sg(), iid)["data"]["approver"] == "mary"
    with pytest.raises(Refused, match="claimed by mary"):
        complete_task(make_sg(), again["id"], "bob", {"approved": True})
    assert complete_task(make_sg(), again["id"], "mary", {"approved": True})["status"] == "completed"


@pytest.mark.parametrize("listener, reason", [
    ('', 'camunda:dueDate is `next week`, which is not a date and time (ISO 8601'),
    ('<camunda:taskListener event="create" class="org.example.Notify" />',
     "task listener on 'create' uses class `org.example.Notify`, which the engine does not run"),
    ('<camunda:taskListener event="create"><camunda:script scriptFormat="javascript">'
     "execution.setVariable('x', 1);</camunda:script></camunda:taskListener>",
     "task listener on 'create' cannot be translated: `execution . setVariable...` is not translated"),
    ('<camunda:taskListener event="complete"><camunda:script scriptFormat="javascript">'
     "task.setVariable('x', 'y');</camunda:script></camunda:taskListener>",
     "task listener on 'complete' is not run by the engine"),
    ('<camunda:taskListener event="create"><camunda:script scriptFormat="groovy">'
     "task.setVariable('x', 'y')</camunda:script></camunda:taskListener>",
     "its script is groovy, not JavaScript"),
])
def test_listeners_and_due_dates_the_engine_cannot_honour_are_refused_naming_them(sg, listener, reason):
    assignment = 'camunda:candidateGroups="Sales"' + ("" if listener else ' camunda:dueDate="next week"')
    xml = approval(assignment).replace('<camunda:formData><camunda:formField id="ok"',
                                       listener + '<camunda:formData><camunda:formField id="ok"')
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, f.files(("request.bpmn", xml)), "cli:test")
    assert any(reason in p.reason and p.element_id == "Approve" for p in exc.value.problems), exc.value.problems


def test_input_and_output_parameters_of_a_user_task(people):
    """camunda:inputOutput: the task sees its inputs (text, JUEL, list, map), the process keeps its own
    variables of those names, and gets the outputs computed on what was submitted."""
    io = ('<camunda:inputOutput><camunda:inputParameter name="approver">${approverGroups}</camunda:inputParameter>'
          '<camunda:inputParameter name="greeting">Dear ${approver}</camunda:inputParameter>'
          '<camunda:inputParameter name="steps"><camunda:list><camunda:value>check</camunda:value>'
          '<camunda:value>${approver}</camunda:value></camunda:list></camunda:inputParameter>'
          '<camunda:inputParameter name="limits"><camunda:map><camunda:entry key="max">1000</camunda:entry>'
          '</camunda:map></camunda:inputParameter>'
          '<camunda:outputParameter name="verdict">${ok ? \'approved by \'.concat(approver) : \'refused\'}'
          '</camunda:outputParameter></camunda:inputOutput>')
    xml = approval('camunda:candidateGroups="${approver}"').replace(
        '<camunda:formData><camunda:formField id="ok"', io + '<camunda:formData><camunda:formField id="ok"')
    with pytest.raises(InvalidDiagram, match=r"the method call `'approved by '.concat\(...\)` is not supported"):
        deploy(people, f.files(("request.bpmn", xml)), "cli:test")
    xml = xml.replace("${ok ? 'approved by '.concat(approver) : 'refused'}", "${ok ? approver : 'refused'}")
    deploy(people, f.files(("request.bpmn", xml)), "cli:test")
    iid = start_instance(people, "request", "sam", {"approverGroups": "Finance", "approver": "from the start"})["id"]
    task = the_task(people, iid)
    assert task["roles"] == ["finance"]  # the input parameter, not the process's `approver`
    seen = live_data(people, iid, "Approve")
    assert (seen["greeting"], seen["steps"], seen["limits"]) == ("Dear Finance", ["check", "Finance"], {"max": "1000"})
    complete_task(people, task["id"], "fiona", {"ok": True})
    data = queries.instance(people, iid)["data"]
    assert (data["verdict"], data["approver"]) == ("Finance", "from the start")
    assert not {"greeting", "steps", "limits"} & set(data)


def test_the_designer_says_when_a_lane_grants_a_task_nothing():
    from engine.bpmn import diagram_model, lint, xmlsafe
    [model] = diagram_model.bpmn_models(xmlsafe.parse(approval('camunda:candidateGroups="Finance"').encode()), "r.bpmn")
    warnings = {p.element_id: p.reason for p in lint.lint_design(model, {"sales", "finance"})}
    assert warnings == {"Approve": "user task is in lane 'Sales' but names who works it (camunda:candidateGroups "
                                   "Finance), so the lane grants it nothing: only those may work it"}
    [model] = diagram_model.bpmn_models(xmlsafe.parse(approval("").encode()), "r.bpmn")
    assert lint.lint_design(model, {"sales", "finance"}) == []


@pytest.mark.parametrize("name, element, reason", [
    ("examples-camunda-testing-job-announcement.bpmn", "review", "camunda:assignee "
     "`#{jobAnnouncementService.findRequester(jobAnnouncementId)}`: JUEL the engine cannot run: the method call "
     "`jobAnnouncementService.findRequester(...)` is not supported (a bean or Spin method"),
    ("examples-task-form-embedded-json-variables.bpmn", "SequenceFlow_4", "the method call `customer.prop(...)`"),
    ("examples-parse-bpmn-process.bpmn", "endEvent", "execution listener on 'start' by expression "
     "`${execution.setVariable('finished', true)}` is not run by the engine"),
])
def test_corpus_files_needing_beans_spin_or_listeners_are_refused_naming_them(sg, name, element, reason):
    path = SHARED / "corpus" / "camunda" / name
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [(name, path.read_bytes())], "cli:test")
    assert any(p.element_id == element and reason in p.reason and p.line for p in exc.value.problems), \
        exc.value.problems


def test_camundas_vacation_request_and_review_invoice_deploy_as_written(sg):
    for name in ("platform-engine-VacationRequest.bpmn20.xml", "platform-reviewInvoice.bpmn"):
        path = SHARED / "corpus" / "camunda" / name
        assert deploy(sg, [(name, path.read_bytes())], "cli:test")


def test_the_designer_warns_of_an_assignee_or_candidate_user_who_is_no_user():
    from engine.bpmn import diagram_model, lint, xmlsafe
    xml = approval('camunda:assignee="demo" camunda:candidateUsers="mary, ghost"')
    [model] = diagram_model.bpmn_models(xmlsafe.parse(xml.encode()), "r.bpmn")
    reasons = [p.reason for p in lint.lint_design(model, {"sales"}, {"mary", "sam"}) if p.element_id == "Approve"]
    assert "user task is assigned to 'demo', who is no active user: it would open unclaimed, for its candidates " \
           "only" in reasons
    assert "user task's candidate users ghost are no active users" in reasons
    assert not [p for p in lint.lint_design(model, {"sales"}, {"mary", "ghost", "demo"})
                if "no active user" in p.reason]


def test_a_due_date_written_as_a_duration_counts_from_when_the_task_opens(make_sg, staff):
    """camunda:dueDate="PT2H" (as Camunda's webapps fixtures write it): due two hours after the task opens."""
    staff({"mary": ["Accounting"], "sam": ["Sales"]})
    clock = FrozenClock()
    make_sg = partial(make_sg, clock=clock)
    xml = approve_invoice_alone().replace('camunda:dueDate="${dateTime().plusWeeks(1).toDate()}"',
                                          'camunda:dueDate="PT2H"')
    assert 'camunda:dueDate="PT2H"' in xml
    deploy(make_sg(), f.files(("approval.bpmn", xml)), "cli:test")
    iid = start_instance(make_sg(), "approval", "sam", {"approverGroups": "accounting"})["id"]
    assert the_task(make_sg(), iid)["due_at"] == iso(clock.now() + timedelta(hours=2))
