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
             '<camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>'
             # what the decision() table reads
             + ('<camunda:formField id="deal_value" label="Deal value" type="long" />' if decision_ref else "")
             + "</camunda:formData></bpmn:extensionElements></bpmn:startEvent>"]
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
             input_entry: str = "&gt;= 1000", input_expression: str = "deal_value", table: bool = True,
             language: str = "python") -> str:
    """A one-rule decision table: deal_value >= 1000 gives discount = `output` (cells in `language`)."""
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
            f'<definitions xmlns="{DMN_NS}" expressionLanguage="{language}" id="Definitions_{did}" name="{name}" '
            'namespace="http://example.com">\n'
            f'  <decision id="{did}" name="{name}">\n{body}  </decision>\n</definitions>\n')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def files(*pairs) -> list[tuple[str, bytes]]:
    """[(name, xml text), ...] as deploy() takes them."""
    return [(name, text.encode()) for name, text in pairs]


def table(did: str, rules: list, *, inputs=(("Amount", "amount", "number"),), outputs=(("result", "string"),),
          hit_policy: str = "UNIQUE", aggregation: str | None = None, name: str | None = None,
          language: str = "python") -> str:
    """A decision table of any shape, its cells in `language`. inputs: (label, expression, typeRef); outputs: (name, typeRef) or
    (name, typeRef, output values text); rules: (rule id, [input cells], [output cells]). Cell text is escaped."""
    head = [f'    <decisionTable id="Table_{did}" hitPolicy="{hit_policy}"'
            + (f' aggregation="{aggregation}"' if aggregation else "") + ">"]
    for n, (label, expression, type_ref) in enumerate(inputs):
        head.append(f'      <input id="In_{did}_{n}" label="{label}"><inputExpression id="InExpr_{did}_{n}" '
                    f'typeRef="{type_ref}"><text>{_escape(expression)}</text></inputExpression></input>')
    for n, (out_name, type_ref, *values) in enumerate(outputs):
        listed = f"<outputValues><text>{_escape(values[0])}</text></outputValues>" if values else ""
        head.append(f'      <output id="Out_{did}_{n}" label="{out_name.title()}" name="{out_name}" '
                    f'typeRef="{type_ref}">{listed}</output>')
    for rid, cells, outs in rules:
        entries = "".join(f'<inputEntry id="{rid}_in{n}"><text>{_escape(c)}</text></inputEntry>' for n, c in enumerate(cells))
        entries += "".join(f'<outputEntry id="{rid}_out{n}"><text>{_escape(c)}</text></outputEntry>'
                           for n, c in enumerate(outs))
        head.append(f'      <rule id="{rid}">{entries}</rule>')
    head.append("    </decisionTable>")
    body = "\n".join(head)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<definitions xmlns="{DMN_NS}" expressionLanguage="{language}" id="Definitions_{did}" '
            f'name="{name or did}" namespace="http://example.com">\n'
            f'  <decision id="{did}" name="{name or did}">\n{body}\n  </decision>\n</definitions>\n')


def deciding_process(pid: str, decision_ref: str, fields: dict[str, str], loop: bool = False,
                     task_attributes: str = "") -> str:
    """Start -> 'Enter data' (a form with `fields`: id -> type) -> the decision -> 'Review' -> end, all
    in the Sales lane: the decision runs when the first task completes, its result is seen at the second.
    With `loop`, Review's `reviewed == False` goes back to 'Enter data'. `task_attributes` go on the
    business rule task (e.g. camunda:resultVariable)."""
    form = "".join(f'<camunda:formField id="{fid}" label="{fid}" type="{ftype}" />' for fid, ftype in fields.items())
    body = f"""  <bpmn:process id="{pid}" name="{pid}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{pid}"><bpmn:lane id="Lane_{pid}" name="Sales">
      <bpmn:flowNodeRef>Start_{pid}</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Enter</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_Decide</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>End_{pid}</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_{pid}" />
    <bpmn:userTask id="Task_Enter" name="Enter data"><bpmn:extensionElements><camunda:formData>{form}
      </camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:businessRuleTask id="Task_Decide" name="Decide" camunda:decisionRef="{decision_ref}" {task_attributes}/>
    <bpmn:userTask id="Task_Review" name="Review"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="reviewed" label="Reviewed" type="boolean" /></camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="End_{pid}" />
    <bpmn:sequenceFlow id="f1_{pid}" sourceRef="Start_{pid}" targetRef="Task_Enter" />
    <bpmn:sequenceFlow id="f2_{pid}" sourceRef="Task_Enter" targetRef="Task_Decide" />
    <bpmn:sequenceFlow id="f3_{pid}" sourceRef="Task_Decide" targetRef="Task_Review" />
    {{TAIL}}
  </bpmn:process>
"""
    tail = (f'<bpmn:sequenceFlow id="f4_{pid}" sourceRef="Task_Review" targetRef="End_{pid}" />' if not loop else
            f'<bpmn:exclusiveGateway id="Gw_{pid}" default="f_done_{pid}" />'
            f'<bpmn:sequenceFlow id="f4_{pid}" sourceRef="Task_Review" targetRef="Gw_{pid}" />'
            f'<bpmn:sequenceFlow id="f_again_{pid}" sourceRef="Gw_{pid}" targetRef="Task_Enter">'
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">reviewed == False</bpmn:conditionExpression>'
            f'</bpmn:sequenceFlow><bpmn:sequenceFlow id="f_done_{pid}" sourceRef="Gw_{pid}" targetRef="End_{pid}" />')
    if loop:
        body = body.replace(f"<bpmn:flowNodeRef>End_{pid}</bpmn:flowNodeRef>",
                            f"<bpmn:flowNodeRef>End_{pid}</bpmn:flowNodeRef><bpmn:flowNodeRef>Gw_{pid}</bpmn:flowNodeRef>")
    return definitions(body.replace("{TAIL}", tail), pid)
