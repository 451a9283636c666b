"""Diagrams with external tasks, as Camunda Modeler writes them."""

QUOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Quote" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:error id="Error_NoPrice" name="No list price" errorCode="NO_PRICE" />
  <bpmn:process id="erp_quote" name="ERP quote" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_Sales" name="Sales">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Price</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Manual</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Error_Caught</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>End_Manual</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="customer" label="Customer" type="string" />
        <camunda:formField id="quantity" label="Quantity" type="long" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:serviceTask id="Task_Price" name="Price the quote in the ERP" camunda:type="external"
        camunda:topic="erp.price_quote" camunda:taskPriority="20">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="Error_Caught" name="No list price" attachedToRef="Task_Price">
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:errorEventDefinition id="Def_NoPrice" errorRef="Error_NoPrice" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Review" name="Review the ERP price">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approved" label="Approved" type="boolean" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Task_Manual" name="Price by hand">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="net_price" label="Net price" type="long" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_Manual"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Price"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Price" targetRef="Task_Review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Review" targetRef="EndEvent_1"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Error_Caught" targetRef="Task_Manual"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Task_Manual" targetRef="End_Manual"/>
  </bpmn:process>
</bpmn:definitions>
"""

# A Java delegate and a send task, as a Camunda 7 project has them: both wait for a worker.
DELEGATES = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Del" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="legacy_order" name="Legacy order" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Task_Book" name="Book the order" camunda:class="com.acme.erp.BookOrderDelegate">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sendTask id="Task_Confirm" name="Send the confirmation" camunda:type="external" camunda:topic="mail.confirm">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:sendTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Book"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Book" targetRef="Task_Confirm"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Confirm" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""

# The ERP gets a day to answer; then Sales prices by hand and the worker's task is withdrawn.
CHASED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Chased" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="chased_quote" name="Chased quote" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_Sales" name="Sales">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Price</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Timer_Late</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Manual</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_2</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Task_Price" name="Price in the ERP" camunda:type="external" camunda:topic="erp.price_quote">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="Timer_Late" name="ERP silent for a day" attachedToRef="Task_Price">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="Def_Late"><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Manual" name="Price by hand">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="EndEvent_2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Price"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Price" targetRef="EndEvent_1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Timer_Late" targetRef="Task_Manual"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Task_Manual" targetRef="EndEvent_2"/>
  </bpmn:process>
</bpmn:definitions>
"""
