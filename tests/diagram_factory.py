"""Build small BPMN/DMN documents for tests, valid by default, with one knob per way to break them.

`process()` draws a deal review: start (with a start form) -> user task in the Sales lane ->
exclusive gateway with two conditioned flows -> two end events. Options add a business rule
task, a call activity or raw XML, and each of the others breaks exactly one thing.
"""
from __future__ import annotations

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
         'id="Definitions_{pid}" targetNamespace="http://example.com/stagegate">\n')


def process(pid: str = "deal_review", *, name: str = "Deal review", executable: bool = True,
            task_name: str = "Review deal", in_lane: bool = True,
            yes: str | None = "approved == True", no: str | None = "approved == False",
            default: str | None = None, yes_target: str = "EndEvent_Yes",
            decision_ref: str | None = None, called_element: str | None = None,
            extra: str = "", note: str = "", wrap: bool = True) -> str:
    """One process; `wrap=False` gives the bare <bpmn:process> to combine with `definitions()`."""
    optional = (["Task_Rule"] if decision_ref else []) + (["Task_Call"] if called_element else [])
    lane_refs = ["StartEvent_Deal", "Task_Review", "Gateway_Approved", "EndEvent_Yes", "EndEvent_No"] + optional
    if not in_lane:
        lane_refs.remove("Task_Review")
    chain = ["StartEvent_Deal", *optional, "Task_Review"]
    flows = [(f"Flow_{a}_{b}", a, b, None) for a, b in zip(chain, chain[1:])]
    flows += [("Flow_Review_Gateway", "Task_Review", "Gateway_Approved", None),
              ("Flow_Yes", "Gateway_Approved", yes_target, yes),
              ("Flow_No", "Gateway_Approved", "EndEvent_No", no)]
    parts = [f'  <bpmn:process id="{pid}" name="{name}" isExecutable="{str(executable).lower()}">',
             f'    <bpmn:laneSet id="LaneSet_{pid}"><bpmn:lane id="Lane_Sales_{pid}" name="Sales">',
             *[f"      <bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in lane_refs],
             "    </bpmn:lane></bpmn:laneSet>",
             '    <bpmn:startEvent id="StartEvent_Deal" name="Deal opened"><bpmn:extensionElements><camunda:formData>'
             '<camunda:formField id="deal_name" label="Deal name" type="string">'
             '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
             "</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:startEvent>"]
    if note:
        parts.append(f"    <bpmn:documentation>{note}</bpmn:documentation>")
    if decision_ref:
        parts.append(f'    <bpmn:businessRuleTask id="Task_Rule" name="Check rules" camunda:decisionRef="{decision_ref}" />')
    if called_element:
        parts.append(f'    <bpmn:callActivity id="Task_Call" name="Sub process" calledElement="{called_element}" />')
    parts += [
        f'    <bpmn:userTask id="Task_Review" name="{task_name}"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="approved" label="Approved" type="boolean" />'
        "</camunda:formData></bpmn:extensionElements></bpmn:userTask>",
        '    <bpmn:exclusiveGateway id="Gateway_Approved" name="Approved?"'
        + (f' default="{default}"' if default else "") + " />",
        '    <bpmn:endEvent id="EndEvent_Yes" name="Approved" />',
        '    <bpmn:endEvent id="EndEvent_No" name="Rejected" />',
    ]
    for fid, src, tgt, cond in flows:
        if cond is None:
            parts.append(f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{tgt}" />')
        else:
            parts.append(f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{tgt}">'
                         f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{_escape(cond)}'
                         "</bpmn:conditionExpression></bpmn:sequenceFlow>")
    if extra:
        parts.append(extra)
    parts.append("  </bpmn:process>")
    body = "\n".join(parts) + "\n"
    return definitions(body, pid) if wrap else body


def definitions(body: str, ident: str = "doc") -> str:
    """A BPMN document around one or more bare processes (and anything else at top level)."""
    return _HEAD.replace("{pid}", ident) + body + "</bpmn:definitions>\n"


def decision(did: str = "discount", *, name: str = "Discount", output: str = "10",
             input_entry: str = "&gt;= 1000", input_expression: str = "deal_value", table: bool = True) -> str:
    """A one-rule decision table: deal_value >= 1000 gives discount = `output`."""
    if table:
        body = (f'    <decisionTable id="Table_{did}" hitPolicy="FIRST">\n'
                f'      <input id="In_{did}" label="Deal value"><inputExpression id="InExpr_{did}" typeRef="number">'
                f"<text>{input_expression}</text></inputExpression></input>\n"
                f'      <output id="Out_{did}" name="discount" typeRef="number" />\n'
                f'      <rule id="Rule_{did}"><inputEntry id="IE_{did}"><text>{input_entry}</text></inputEntry>'
                f'<outputEntry id="OE_{did}"><text>{output}</text></outputEntry></rule>\n'
                "    </decisionTable>\n")
    else:
        body = f'    <literalExpression id="Lit_{did}"><text>{output}</text></literalExpression>\n'
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<definitions xmlns="{DMN_NS}" id="Definitions_{did}" name="{name}" namespace="http://example.com">\n'
            f'  <decision id="{did}" name="{name}">\n{body}  </decision>\n</definitions>\n')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def files(*pairs) -> list[tuple[str, bytes]]:
    """[(name, xml text), ...] as deploy() takes them."""
    return [(name, text.encode()) for name, text in pairs]
