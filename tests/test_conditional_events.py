"""Conditional events as Camunda 7 evaluates them: JUEL conditions, a variable not yet set has not
fired, and the variables a task is completed with reach the waiting conditional events first."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f


def review(cancel: str = "true") -> list:
    return f.files(("review.bpmn", f.definitions(f'''  <bpmn:process id="review" isExecutable="true">
    <bpmn:startEvent id="Asked" />
    <bpmn:subProcess id="Checks">
      <bpmn:startEvent id="In" />
      <bpmn:userTask id="Check" name="Check the file" camunda:candidateGroups="Sales">
        <bpmn:extensionElements><camunda:formData><camunda:formField id="fraud" type="boolean" />
        </camunda:formData></bpmn:extensionElements></bpmn:userTask>
      <bpmn:endEvent id="Out" />
      <bpmn:sequenceFlow id="S1" sourceRef="In" targetRef="Check" />
      <bpmn:sequenceFlow id="S2" sourceRef="Check" targetRef="Out" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="Fraud" attachedToRef="Checks" cancelActivity="{cancel}">
      <bpmn:conditionalEventDefinition><bpmn:condition>${{fraud == true}}</bpmn:condition>
      </bpmn:conditionalEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="Cleared" /><bpmn:endEvent id="Stopped" />
    <bpmn:sequenceFlow id="F1" sourceRef="Asked" targetRef="Checks" />
    <bpmn:sequenceFlow id="F2" sourceRef="Checks" targetRef="Cleared" />
    <bpmn:sequenceFlow id="F3" sourceRef="Fraud" targetRef="Stopped" />
  </bpmn:process>
''', "review")))


def test_a_variable_not_yet_set_has_not_fired_and_a_clean_check_ends_cleared(sg, staff):
    staff({"sam": ["Sales"]})
    deploy(sg, review(), "cli:test")
    deal = start_instance(sg, "review", "sam")  # `fraud` is not set: the condition has not fired
    [task] = deal["ready_tasks"]
    assert complete_task(sg, task["id"], "sam", {"fraud": False})["ended_at_element"] == "Cleared"


def test_the_completing_variables_fire_the_interrupting_boundary_condition(sg, staff):
    staff({"sam": ["Sales"]})
    deploy(sg, review(), "cli:test")
    [task] = start_instance(sg, "review", "sam")["ready_tasks"]
    done = complete_task(sg, task["id"], "sam", {"fraud": True})
    assert (done["status"], done["ended_at_element"]) == ("completed", "Stopped")
    assert queries.instance(sg, done["id"])["data"]["fraud"] is True
