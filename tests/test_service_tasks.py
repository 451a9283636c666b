"""Service tasks run the sales handlers in workflows/service_tasks.py by their external-task topic."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.errors import StepFailed
from engine.services.instances import complete_task, start_instance

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Net" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="net_price" name="Net price" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_Sales" name="Sales">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Enter</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_Net</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Enter" name="Enter price">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="list_price" label="List price" type="long" />
        <camunda:formField id="discount_pct" label="Discount (%)" type="long" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="Task_Net" name="Compute net price" camunda:type="external" camunda:topic="pricing.net_price">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Enter"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Enter" targetRef="Task_Net"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Net" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def deal(sg, staff):
    staff({"sam": ["Sales"]})
    deploy(sg, [("net.bpmn", BPMN)], actor="cli:test")
    iid = start_instance(sg, "net_price", "sam", {})["id"]
    return iid, queries.ready_tasks(sg, instance_id=iid)[0]["id"]


def test_service_task_adds_its_handlers_results_and_is_audited(sg, deal):
    iid, task_id = deal
    r = complete_task(sg, task_id, "sam", {"list_price": 200000, "discount_pct": 15})
    assert r["status"] == "completed"
    data = queries.instance(sg, iid)["data"]
    assert (data["discount_amount"], data["net_price"]) == (30000, 170000)
    ev = [e for e in queries.history(sg, iid) if e["kind"] == "service_task_run"][0]
    assert ev["element_id"] == "Task_Net" and ev["details"]["topic"] == "pricing.net_price"
    assert ev["details"]["outputs"] == {"discount_amount": 30000, "net_price": 170000}


def test_failing_handler_is_an_incident_at_the_service_task(sg, deal):
    iid, task_id = deal
    with pytest.raises(StepFailed) as exc:
        complete_task(sg, task_id, "sam", {"discount_pct": 15})
    assert exc.value.element_id == "Task_Net"
    assert "service task handler 'pricing.net_price' failed: KeyError" in str(exc.value)
    assert [t["id"] for t in queries.ready_tasks(sg, instance_id=iid)] == [task_id]
