"""JUEL in timers and multi-instance loops, as Camunda's own test models write them."""
from __future__ import annotations

from datetime import timedelta
from functools import partial

from engine.queries import records as queries
from engine.clock import FrozenClock, iso
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from engine.services.timers import fire_due_timers
from tests import diagram_factory as f
from tests.conftest import SHARED

TIMER = SHARED / "corpus" / "camunda" / "platform-engine-BoundaryTimerEventTest.testExpressionOnTimer.bpmn20.xml"


def test_camundas_expression_on_timer_fires_after_the_duration_the_deal_holds(make_sg, staff):
    """BoundaryTimerEventTest.testExpressionOnTimer: `<timeDuration>${duration}</timeDuration>` on the task.
    Camunda's test starts it with the variable; here a start form gives it, and the task names a group."""
    staff({"sam": ["Sales"]})
    xml = TIMER.read_text().replace(
        '<startEvent id="theStart" />',
        '<startEvent id="theStart"><extensionElements><camunda:formData><camunda:formField id="duration" '
        'type="string" /></camunda:formData></extensionElements></startEvent>').replace(
        '<userTask id="task"', '<userTask camunda:candidateGroups="Sales" id="task"')
    clock = FrozenClock()
    make_sg = partial(make_sg, clock=clock)
    deploy(make_sg(), [(TIMER.name, xml.encode())], "cli:test")
    iid = start_instance(make_sg(), "testExpressionOnTimer", "sam", {"duration": "PT1H"})["id"]
    [task] = queries.ready_tasks(make_sg(), instance_id=iid)
    assert task["due_at"] == iso(clock.now() + timedelta(hours=1))  # the boundary timer is the task's SLA
    clock.advance(minutes=59)
    assert fire_due_timers(make_sg())["fired"] == 0
    clock.advance(minutes=2)
    assert fire_due_timers(make_sg())["fired"] == 1
    assert queries.instance(make_sg(), iid)["status"] == "completed"


def reviews(loop: str) -> str:
    return f.definitions(f'''  <bpmn:process id="reviews" isExecutable="true">
    <bpmn:startEvent id="Asked"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="reviewers" type="string" /></camunda:formData></bpmn:extensionElements></bpmn:startEvent>
    <bpmn:scriptTask id="Split" scriptFormat="python"><bpmn:script>people = reviewers.split(",")</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Review" name="Review" camunda:assignee="${{reviewer}}">
      {loop}
      <bpmn:extensionElements><camunda:formData><camunda:formField id="ok" type="boolean" /></camunda:formData>
      </bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="Reviewed" />
    <bpmn:sequenceFlow id="F1" sourceRef="Asked" targetRef="Split" />
    <bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Review" />
    <bpmn:sequenceFlow id="F3" sourceRef="Review" targetRef="Reviewed" />
  </bpmn:process>
''', "reviews")


def test_a_multi_instance_task_per_person_of_a_juel_collection_each_assigned_by_juel(make_sg, staff):
    staff({"ann": ["Quality"], "bo": ["Quality"], "sam": ["Sales"]})
    loop = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${people}" camunda:elementVariable="reviewer">'
            '<bpmn:completionCondition>${nrOfCompletedInstances >= 1}</bpmn:completionCondition>'
            '</bpmn:multiInstanceLoopCharacteristics>')
    deploy(make_sg(), f.files(("reviews.bpmn", reviews(loop).replace("${nrOfCompletedInstances >= 1}", "${ok}"))),
           "cli:test")
    iid = start_instance(make_sg(), "reviews", "sam", {"reviewers": "ann,bo"})["id"]
    tasks = queries.ready_tasks(make_sg(), instance_id=iid)
    assert sorted(t["claimed_by"] for t in tasks) == ["ann", "bo"]
    ann = next(t for t in tasks if t["claimed_by"] == "ann")
    assert complete_task(make_sg(), ann["id"], "ann", {"ok": True})["status"] == "completed"  # ${ok} completes it
