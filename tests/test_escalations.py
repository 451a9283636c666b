"""Escalations end when what they escalate ends: a task with the property `escalates` (the id of the
task it chases) is closed by the engine, in the same step and audited, once the chased task is
completed or cancelled; the department head's inbox shows only escalations still worth chasing."""
import pytest

from engine.store import open_tasks
from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram
from engine.queries.inbox import inbox
from engine.services.instances import start_instance
from engine.services.timers import fire_due_timers
from tests.diagram_factory import definitions
from tests.drive import DELIVERY_OK, PRICING_OK, QUALITY_OK, Driver


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


def chases(drive, user):
    """The escalations in `user`'s inbox: (deal, task name)."""
    return sorted((t["instance_id"], t["name"]) for t in inbox(drive.fresh(), user)["tasks"]
                  if t["name"].startswith("Chase overdue"))


def test_the_heads_escalation_closes_when_the_sign_off_it_chases_is_done(drive):
    iid = drive.to_sign_offs()
    drive.sg.clock.advance(days=6)
    assert fire_due_timers(drive.fresh())["fired"] == 3
    assert chases(drive, "carl") == [(iid, "Chase overdue pricing sign-off")]
    assert chases(drive, "hank") == [(iid, "Chase overdue delivery sign-off")]

    drive.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    assert chases(drive, "carl") == [], "the pricing sign-off is done: nothing left to chase"
    assert chases(drive, "hank") == [(iid, "Chase overdue delivery sign-off")], "delivery is still late"
    escalation = [t for t in queries.ready_tasks(drive.sg, instance_id=iid)]
    assert "Task_EscalatePricing" not in {t["element_id"] for t in escalation}

    history = drive.history(iid)
    done = max(i for i, e in enumerate(history) if e["kind"] == "task_completed")
    closed = [e for e in history[done:] if e["kind"] == "task_cancelled"]
    assert [(e["actor"], e["element_id"], e["details"]["on_behalf_of"]) for e in closed] == [
        ("engine", "Task_EscalatePricing", "fiona")], "closed in fiona's step, by the engine"
    assert closed[0]["details"]["reason"] == "escalation_closed"
    assert closed[0]["details"]["escalates"] == "Task_SignOffPricing"
    assert closed[0]["details"]["escalated_task_state"] == "completed"
    with drive.sg.engine.connect() as conn:
        assert open_tasks.disagreements(conn) == {}, "the inbox counters lost the closed escalation too"

    drive.work(iid, "Task_SignOffDelivery", "pete", **DELIVERY_OK)
    drive.work(iid, "Task_SignOffQuality", "quinn", **QUALITY_OK)
    assert chases(drive, "hank") == chases(drive, "hedy") == []
    assert set(drive.ready(iid)) == {"Task_ProposalGateReview"}


def _chase_diagram() -> bytes:
    """Prepare quote (Sales) with a 1-day non-interrupting timer that escalates to Sales Leadership
    and a 2-day interrupting timer that ends the deal as timed out."""
    def timer(eid, days, interrupting):
        return (f'<bpmn:boundaryEvent id="{eid}" attachedToRef="Task_Quote" cancelActivity="{str(interrupting).lower()}">'
                f'<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P{days}D'
                "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>")
    flows = [("f1", "Start_Quote", "Task_Quote"), ("f2", "Task_Quote", "End_Done"), ("f3", "Timer_Late", "Task_Chase"),
             ("f4", "Task_Chase", "End_Chased"), ("f5", "Timer_TimeOut", "End_TimedOut")]
    body = ('<bpmn:process id="chase" name="Chase" isExecutable="true"><bpmn:laneSet>'
            '<bpmn:lane id="L1" name="Sales"><bpmn:flowNodeRef>Start_Quote</bpmn:flowNodeRef>'
            "<bpmn:flowNodeRef>Task_Quote</bpmn:flowNodeRef></bpmn:lane>"
            '<bpmn:lane id="L2" name="Sales Leadership"><bpmn:flowNodeRef>Task_Chase</bpmn:flowNodeRef></bpmn:lane>'
            '</bpmn:laneSet><bpmn:startEvent id="Start_Quote" />'
            '<bpmn:userTask id="Task_Quote" name="Prepare quote" />'
            '<bpmn:userTask id="Task_Chase" name="Chase the quote"><bpmn:extensionElements><camunda:properties>'
            '<camunda:property name="escalates" value="Task_Quote" /></camunda:properties></bpmn:extensionElements>'
            "</bpmn:userTask>"
            + timer("Timer_Late", 1, False) + timer("Timer_TimeOut", 2, True)
            + '<bpmn:endEvent id="End_Done" /><bpmn:endEvent id="End_Chased" /><bpmn:endEvent id="End_TimedOut" />'
            + "".join(f'<bpmn:sequenceFlow id="{i}" sourceRef="{a}" targetRef="{b}" />' for i, a, b in flows)
            + "</bpmn:process>")
    return definitions(body, "chase").encode()


@pytest.fixture
def chase(sg, staff):
    staff()
    deploy(sg, [("chase.bpmn", _chase_diagram())], "cli:test")
    iid = start_instance(sg, "chase", "sam", {})["id"]
    sg.clock.advance(days=1, minutes=1)
    assert fire_due_timers(sg)["fired"] == 1
    assert {t["element_id"] for t in queries.ready_tasks(sg, instance_id=iid)} == {"Task_Quote", "Task_Chase"}
    return iid


def test_an_open_escalation_no_longer_keeps_a_finished_deal_open(sg, chase):
    from engine.services.instances import complete_task
    quote = [t for t in queries.ready_tasks(sg, instance_id=chase) if t["element_id"] == "Task_Quote"][0]
    result = complete_task(sg, quote["id"], "sam", {})
    assert result["status"] == "completed" and result["ended_at_element"] == "End_Done"
    assert result["ready_tasks"] == [] and inbox(sg, "lena")["tasks"] == []


def test_an_escalation_closes_when_its_task_is_cancelled(sg, chase):
    sg.clock.advance(days=1)
    assert fire_due_timers(sg)["fired"] == 1
    shown = queries.instance(sg, chase)
    assert shown["status"] == "completed" and shown["ended_at_element"] == "End_TimedOut"
    cancelled = {e["element_id"]: e["details"] for e in queries.history(sg, chase) if e["kind"] == "task_cancelled"}
    assert cancelled["Task_Quote"]["reason"] == "flow_moved_on", "the interrupting timer took the quote away"
    assert cancelled["Task_Chase"]["reason"] == "escalation_closed"
    assert cancelled["Task_Chase"]["escalated_task_state"] == "cancelled"
    assert cancelled["Task_Chase"]["on_behalf_of"] == "timer"


@pytest.mark.parametrize("value, message", [
    ("Task_Nope", "escalates 'Task_Nope', which is not an element of this process"),
    ("End_Done", "escalates 'End_Done', which is a endEvent: it must name the task"),
    ("Task_Chase", "escalates 'Task_Chase', which is itself"),
])
def test_an_escalation_that_names_no_other_task_is_refused_at_deploy(sg, staff, value, message):
    staff()
    xml = _chase_diagram().replace(b'value="Task_Quote"', f'value="{value}"'.encode())
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [("chase.bpmn", xml)], "cli:test")
    problems = [(p.element_id, p.reason) for p in exc.value.problems]
    assert len(problems) == 1 and problems[0][0] == "Task_Chase" and message in problems[0][1], problems
    assert queries.process_versions(sg) == []


def test_an_escalation_inside_a_called_process_chases_and_closes_with_that_process_s_own_task(make_sg, staff):
    """legal_review's head chases its own Review_Contract, while the caller's call activity has that id too."""
    from engine.queries import views
    from tests import diagram_factory as f
    from tests.test_called_processes import CAST, LEGAL_REVIEW, caller

    drive = Driver(make_sg)
    staff(CAST)
    legal = LEGAL_REVIEW.replace(
        '<bpmn:userTask id="Chase_Review" name="Chase the overdue review" />',
        '<bpmn:userTask id="Chase_Review" name="Chase the overdue review"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="escalates" value="Review_Contract" /></camunda:properties></bpmn:extensionElements>'
        '</bpmn:userTask>')
    assert legal != LEGAL_REVIEW
    deploy(drive.sg, f.files(("legal_review.bpmn", legal), ("caller.bpmn", caller("caller", True))), "cli:test")
    iid = drive.start("sam", "caller")["id"]
    drive.work(iid, "Assign_Reviewer", "sam", brief="NDA and MSA")
    drive.work(iid, "Assign_Reviewer", "fiona", reviewer="lou")
    drive.sg.clock.advance(days=3, minutes=1)
    assert fire_due_timers(drive.fresh())["fired"] == 1
    chase = drive.ready(iid)["Chase_Review"]
    page = views.task(drive.sg, chase["id"], "leo")["task"]
    assert page["escalates"]["name"] == "Review the contract" and page["escalates"]["state"] == "ready"
    assert page["escalates"]["called_process"] == "legal_review" and page["escalates"]["late_hours"] > 0

    done = drive.work(iid, "Review_Contract", "lou", contract_ok=True)
    assert done["status"] == "completed" and done["ended_at_element"] == "Deal_Out", \
        "the open chase did not keep the called process, and so the deal, open"
    [closed] = [e for e in drive.history(iid) if e["kind"] == "task_cancelled"]
    assert closed["element_id"] == "Chase_Review"
    assert {k: closed["details"][k] for k in ("called_process", "reason", "escalates", "escalates_name",
                                              "escalated_task_state", "on_behalf_of")} == {
        "called_process": "legal_review", "reason": "escalation_closed", "escalates": "Review_Contract",
        "escalates_name": "Review the contract", "escalated_task_state": "completed", "on_behalf_of": "lou"}
    assert views.task(drive.sg, chase["id"], "leo")["task"]["cancelled"]["reason"] == "escalation_closed"
