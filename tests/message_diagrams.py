"""Diagrams with messages for the message tests: one per kind of catcher, drawn as Camunda Modeler writes them."""
from __future__ import annotations

from tests.diagram_factory import definitions

MESSAGES = ('<bpmn:message id="Msg_Signed" name="contract signed" />'
            '<bpmn:message id="Msg_Paid" name="invoice paid" />'
            '<bpmn:message id="Msg_Cancel" name="customer cancelled" />'
            '<bpmn:message id="Msg_Note" name="customer note" />'
            '<bpmn:message id="Msg_Lead" name="web lead" />')


def _flows(*pairs) -> str:
    return "".join(f'<bpmn:sequenceFlow id="F_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


def _lane(pid: str, name: str, refs: list[str]) -> str:
    return (f'<bpmn:laneSet id="LS_{pid}"><bpmn:lane id="L_{pid}" name="{name}">'
            + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs) + "</bpmn:lane></bpmn:laneSet>")


def _start() -> str:
    return ('<bpmn:startEvent id="Begin"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="customer" label="Customer" type="string" /></camunda:formData>'
            '</bpmn:extensionElements></bpmn:startEvent>')


def contract() -> bytes:
    """Legal sends the contract, then waits: "contract signed" (a message) or 5 days (a timer, chase)."""
    pid = "contract"
    nodes = ["Begin", "Send", "Gw", "Signed", "Late", "Chase", "EndSigned", "EndChased"]
    body = (f'<bpmn:process id="{pid}" name="Contract" isExecutable="true">' + _lane(pid, "Legal", nodes) + _start()
            + '<bpmn:userTask id="Send" name="Send contract" />'
            '<bpmn:eventBasedGateway id="Gw" name="Signed or late?" />'
            '<bpmn:intermediateCatchEvent id="Signed" name="Contract signed">'
            '<bpmn:messageEventDefinition id="MED_1" messageRef="Msg_Signed" /></bpmn:intermediateCatchEvent>'
            '<bpmn:intermediateCatchEvent id="Late" name="5 days">'
            '<bpmn:timerEventDefinition id="TED_1"><bpmn:timeDuration>P5D</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:userTask id="Chase" name="Chase signature" />'
            '<bpmn:endEvent id="EndSigned" name="Signed" /><bpmn:endEvent id="EndChased" name="Chased" />'
            + _flows(("Begin", "Send"), ("Send", "Gw"), ("Gw", "Signed"), ("Gw", "Late"), ("Signed", "EndSigned"),
                     ("Late", "Chase"), ("Chase", "EndChased"))
            + "</bpmn:process>")
    return definitions(MESSAGES + body, "contract").encode()


def invoice() -> bytes:
    """Finance waits at a receive task for "invoice paid"; while it waits, "customer note" (non-interrupting
    boundary) opens a task to read it, "customer cancelled" (interrupting boundary) ends the deal."""
    pid = "invoice"
    nodes = ["Begin", "Wait", "Note", "Cancel", "Read", "EndPaid", "EndCancelled", "EndRead", "Book"]
    body = (f'<bpmn:process id="{pid}" name="Invoice" isExecutable="true">' + _lane(pid, "Finance", nodes) + _start()
            + '<bpmn:receiveTask id="Wait" name="Wait for payment" messageRef="Msg_Paid" />'
            '<bpmn:boundaryEvent id="Note" name="Customer note" cancelActivity="false" attachedToRef="Wait">'
            '<bpmn:messageEventDefinition id="MED_2" messageRef="Msg_Note" /></bpmn:boundaryEvent>'
            '<bpmn:boundaryEvent id="Cancel" name="Customer cancelled" attachedToRef="Wait">'
            '<bpmn:messageEventDefinition id="MED_3" messageRef="Msg_Cancel" /></bpmn:boundaryEvent>'
            '<bpmn:userTask id="Read" name="Read customer note" />'
            '<bpmn:userTask id="Book" name="Book payment" />'
            '<bpmn:endEvent id="EndPaid" name="Paid" /><bpmn:endEvent id="EndCancelled" name="Cancelled" />'
            '<bpmn:endEvent id="EndRead" name="Note read" />'
            + _flows(("Begin", "Wait"), ("Wait", "Book"), ("Book", "EndPaid"), ("Note", "Read"), ("Read", "EndRead"),
                     ("Cancel", "EndCancelled"))
            + "</bpmn:process>")
    return definitions(MESSAGES + body, "invoice").encode()


def lead() -> bytes:
    """A deal that starts when a "web lead" message arrives; Sales qualifies it."""
    pid = "lead"
    body = (f'<bpmn:process id="{pid}" name="Web lead" isExecutable="true">'
            + _lane(pid, "Sales", ["Begin", "Qualify", "Finish"])
            + '<bpmn:startEvent id="Begin" name="Lead arrived">'
            '<bpmn:messageEventDefinition id="MED_4" messageRef="Msg_Lead" /></bpmn:startEvent>'
            '<bpmn:userTask id="Qualify" name="Qualify lead" /><bpmn:endEvent id="Finish" />'
            + _flows(("Begin", "Qualify"), ("Qualify", "Finish")) + "</bpmn:process>")
    return definitions(MESSAGES + body, "lead").encode()
