"""Runtime errors roll the step back, leave the task ready, and record an incident saying where."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.errors import StepFailed
from engine.services.instances import complete_task, start_instance
from tests.snapshot import stored

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Probe" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="incident_probe" name="Incident probe" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_Sales" name="Sales">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Enter</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Ratio</bpmn:flowNodeRef><bpmn:flowNodeRef>Tiering</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Tier</bpmn:flowNodeRef><bpmn:flowNodeRef>Big</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gold</bpmn:flowNodeRef><bpmn:flowNodeRef>Silver</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Enter" name="Enter numbers">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="amount" label="Amount" type="long"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
        <camunda:formField id="divisor" label="Divisor" type="long"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Ratio" name="Ratio above 10?"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_big</bpmn:outgoing><bpmn:outgoing>f_small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:businessRuleTask id="Tiering" name="Assign tier" camunda:decisionRef="probe_tier">
      <bpmn:incoming>f_small</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="Tier" name="Which tier?"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_gold</bpmn:outgoing><bpmn:outgoing>f_silver</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="Big"><bpmn:incoming>f_big</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Gold"><bpmn:incoming>f_gold</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Silver"><bpmn:incoming>f_silver</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Enter"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Enter" targetRef="Ratio"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="Ratio" targetRef="Big"><bpmn:conditionExpression>amount / divisor &gt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="Ratio" targetRef="Tiering"><bpmn:conditionExpression>amount / divisor &lt;= 10</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="Tiering" targetRef="Tier"/>
    <bpmn:sequenceFlow id="f_gold" sourceRef="Tier" targetRef="Gold"><bpmn:conditionExpression>tier == 'gold'</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_silver" sourceRef="Tier" targetRef="Silver"><bpmn:conditionExpression>tier == 'silver'</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""

DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" expressionLanguage="python" id="Defs_Tier" name="Tier" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="probe_tier" name="Tier by amount">
    <decisionTable id="Table_Tier" hitPolicy="UNIQUE">
      <input id="in_amount" label="Amount"><inputExpression id="ie1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="out_tier" name="tier" typeRef="string"/>
      <rule id="Rule_Gold"><inputEntry id="r1i"><text>&gt; 100</text></inputEntry><outputEntry id="r1o"><text>'gold'</text></outputEntry></rule>
      <rule id="Rule_Silver"><inputEntry id="r2i"><text>? &gt; 50 and ? &lt;= 100</text></inputEntry><outputEntry id="r2o"><text>'silver'</text></outputEntry></rule>
      <rule id="Rule_Bronze"><inputEntry id="r3i"><text>? &gt;= 10 and ? &lt;= 50</text></inputEntry><outputEntry id="r3o"><text>'bronze'</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.fixture
def probe(sg, staff):
    staff({"sam": ["Sales"]})
    deploy(sg, [("probe.bpmn", BPMN), ("tier.dmn", DMN)], actor="cli:test")
    iid = start_instance(sg, "incident_probe", "sam", {})["id"]
    task_id = queries.ready_tasks(sg, instance_id=iid)[0]["id"]
    return iid, task_id


@pytest.mark.parametrize("data, element, message", [
    ({"amount": 5, "divisor": 0}, "Ratio", "division by zero"),
    ({"amount": 5, "divisor": 1}, "Tiering", "decision 'probe_tier' has no rule matching the inputs {'Amount': 5}"),
    ({"amount": 30, "divisor": 3}, "Tier", "No conditions satisfied"),
])
def test_failing_step_is_rolled_back_and_recorded_as_incident(sg, probe, data, element, message):
    iid, task_id = probe
    before = stored(sg, with_incidents=False)
    with pytest.raises(StepFailed) as exc:
        complete_task(sg, task_id, "sam", data)
    assert exc.value.element_id == element
    assert message in str(exc.value)
    after = stored(sg, with_incidents=False)
    # The instance, its tasks and the task's readiness are as before; only the incident was added.
    assert after["instances"] == before["instances"]
    assert after["human_tasks"] == before["human_tasks"]
    assert [e[1] for e in after["audit"][len(before["audit"]):]] == ["incident"]
    shown = queries.instance(sg, iid)
    assert shown["status"] == "running"
    assert [i["element_id"] for i in shown["open_incidents"]] == [element]
    incident = [e for e in queries.history(sg, iid) if e["kind"] == "incident"][0]
    assert incident["actor"] == "sam" and incident["element_id"] == element
    assert incident["details"]["data"]["amount"] == data["amount"], "the data the element saw is kept"
    assert [t["id"] for t in queries.ready_tasks(sg, instance_id=iid)] == [task_id]


def test_after_an_incident_the_task_can_be_completed_with_better_data(sg, probe):
    iid, task_id = probe
    with pytest.raises(StepFailed):
        complete_task(sg, task_id, "sam", {"amount": 5, "divisor": 0})
    r = complete_task(sg, task_id, "sam", {"amount": 200, "divisor": 100})
    assert r["status"] == "completed" and r["ended_at_element"] == "Gold"
    decision = [e for e in queries.history(sg, iid) if e["kind"] == "decision_evaluated"][0]
    assert decision["details"]["matched_rules"][0]["id"] == "Rule_Gold"
    assert decision["details"]["outputs"] == {"tier": "gold"}
    assert queries.verify_audit(sg)["ok"]
