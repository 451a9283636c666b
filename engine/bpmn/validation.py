"""Deploy-time checks on the plain-data model: each problem names file, element and reason."""
from __future__ import annotations

import re

from engine import domain
from engine.bpmn.dmn import checks as decision_checks
from engine.bpmn import forms
from engine import outcomes, sandbox
from engine.bpmn.diagram_model import BPMN_NS, CAMUNDA_NS
from engine.bpmn.message_checks import message_problem
from engine.errors import Problem

# Flow node types SpiffWorkflow parses but this engine cannot run or store: no message
# transport, no complex gateway. Refused by name instead of by a crash.
UNSUPPORTED_TYPES = {
    "complexGateway": "complex gateways have no implementation",
    "sendTask": "there is no message transport; use a script task or a user task",
}
# Elements that may fork the flow themselves; anything else needs a gateway to split.
MAY_SPLIT = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway", "startEvent", "boundaryEvent"}
# Names SpiffWorkflow gives its own task specs; an element with such an id replaces them.
RESERVED_IDS = {"Start", "End", "Root"}


def _one_line(name: str | None) -> str | None:
    """Modellers break long labels over lines; a message names the element on one."""
    return " ".join(name.split()) if name else name


def _problem(model: dict, el: dict | None, reason: str, line=None) -> Problem:
    return Problem(
        file=model["file"],
        element_id=el.get("id") if el else None,
        element_name=_one_line(el.get("name")) if el else None,
        line=line or (el.get("line") if el else None),
        reason=reason,
    )


def check_expression(source: str, mode: str = "eval") -> str | None:
    """None if the expression compiles in the sandbox, else the reason it does not."""
    try:
        sandbox.check(source, mode)
    except sandbox.SandboxError as exc:
        return str(exc) + _dialect_hint(source)
    return None


def _dialect_hint(source: str) -> str:
    """Say so when an expression is written for another engine (diagrams drawn elsewhere)."""
    text = source.strip()
    if re.match(r"^[$#]\{.*\}$", text, re.S):
        return " (this is a JUEL expression as Camunda 7 uses; write a Python expression, e.g. `approved == True`)"
    if text.startswith("="):
        return " (this is a FEEL expression as Camunda 8 uses; write a Python expression without the leading '=')"
    if "getDataObject(" in text or re.match(r"^\w+:\w+\(", text):
        return " (this is an XPath expression; write a Python expression over the process data)"
    return ""


def lint_process(model: dict, known_decisions: set[str], known_processes: set[str]) -> list[Problem]:
    """Problems that make a process unfit to deploy."""
    problems: list[Problem] = []
    elements, flows = model["elements"], model["flows"]
    for flow in flows.values():
        for end in ("source", "target"):
            if not flow[end]:
                problems.append(_problem(model, flow, f"sequence flow has no {end}Ref"))
            elif flow[end] not in elements:
                problems.append(_problem(model, flow, f"sequence flow {end} '{flow[end]}' is not an element of this process"))
        if flow["condition"]:
            reason = check_expression(flow["condition"])
            if reason:
                problems.append(_problem(model, flow, f"condition `{flow['condition']}` does not compile: {reason}"))
    if not model["process_id"]:
        problems.append(_problem(model, None, "a process has no id", model.get("line")))
    for el in list(elements.values()) + list(flows.values()):
        if not el["id"]:
            problems.append(_problem(model, el, f"a {el.get('type') or 'sequenceFlow'} has no id"))
    for el in elements.values():
        tag = el["type"]
        outgoing = el.get("outgoing", [])
        if tag == "serviceTask" and el.get("topic") not in (handlers := domain.current().service_tasks):
            problems.append(_problem(model, el, (
                f"service task topic '{el.get('topic')}' has no handler; known topics: {', '.join(sorted(handlers))}"
                if el.get("topic") else
                "service task needs camunda:type=\"external\" and a camunda:topic naming one of: "
                f"{', '.join(sorted(handlers))}")))
        if tag in UNSUPPORTED_TYPES:
            problems.append(_problem(model, el, f"element type {tag} is not supported by the engine: {UNSUPPORTED_TYPES[tag]}"))
        if el["id"] in RESERVED_IDS or el["id"] == f"{model['process_id']}.EndJoin":
            problems.append(_problem(model, el, f"element id '{el['id']}' is reserved by the engine; give the element another id"))
        if reason := message_problem(el):
            problems.append(_problem(model, el, reason))
        if len(outgoing) > 1 and tag not in MAY_SPLIT:
            problems.append(_problem(
                model, el, f"{tag} has {len(outgoing)} outgoing sequence flows ({', '.join(map(str, outgoing))}); the engine "
                "only splits the flow at a gateway: add an exclusive or parallel gateway after it"))
        for ref in el.get("data_refs", []):
            reason = _data_ref_problem(model, el, ref)
            if reason:
                problems.append(_problem(model, el, reason))
        if el.get("default_flow") and el["default_flow"] not in outgoing:
            problems.append(_problem(model, el, f"default flow '{el['default_flow']}' is not an outgoing flow of this element"))
        if tag in ("exclusiveGateway", "inclusiveGateway") and len(outgoing) > 1 and not el.get("default_flow"):
            bare = [f for f in outgoing if not flows[f]["condition"]]
            if bare:
                problems.append(_problem(
                    model, el,
                    "gateway has neither a default flow nor a condition on every outgoing flow "
                    f"(no condition on {', '.join(bare)})"))
        if tag == "userTask":
            problems.extend(_problem(model, el, reason) for reason in _assignment_problems(el))
        if tag == "businessRuleTask":
            ref = el.get("decision_ref")
            if not ref:
                problems.append(_problem(model, el, "business rule task has no camunda:decisionRef"))
            elif ref not in known_decisions:
                problems.append(_problem(model, el, f"decision '{ref}' is not deployed and not in this deployment"))
        if tag == "callActivity" and el.get("called_element") not in known_processes:
            problems.append(_problem(model, el, f"called process '{el.get('called_element')}' is not deployed and not in this deployment"))
        if tag == "boundaryEvent" and el.get("attached_to") not in elements:
            problems.append(_problem(model, el, f"boundary event is attached to unknown element '{el.get('attached_to')}'"))
        if tag == "scriptTask" and el.get("script"):
            reason = check_expression(el["script"], "exec")
            if reason:
                problems.append(_problem(model, el, f"script does not compile: {reason}"))
        if el.get("timer"):
            reason = check_expression(el["timer"]["expression"]) if el["timer"]["expression"] else "is empty"
            if reason:
                problems.append(_problem(model, el, f"timer expression `{el['timer']['expression']}` {reason}"
                                         if reason == "is empty" else
                                         f"timer expression `{el['timer']['expression']}` does not compile: {reason} "
                                         "(write an ISO-8601 value such as P3D, or a Python expression "
                                         "such as business_days(3))"))
        if tag == "endEvent" and "outcome" in (el.get("properties") or {}):
            reason = outcomes.declaration_problem(el)
            if reason:
                problems.append(_problem(model, el, reason))
        if "escalates" in (el.get("properties") or {}):
            reason = _escalation_problem(elements, el)
            if reason:
                problems.append(_problem(model, el, reason))
        for field in el.get("form", []):
            cond = (field.get("properties") or {}).get("required_if")
            if cond:
                reason = check_expression(cond)
                if reason:
                    problems.append(_problem(model, el, f"form field '{field.get('id')}': required_if `{cond}` "
                                             f"does not compile: {reason}"))
            if not field.get("id"):
                problems.append(_problem(model, el, "a form field has no id"))
            elif field["id"].startswith("_"):
                problems.append(_problem(model, el, f"form field id '{field['id']}' may not start with '_'"))
            for reason in forms.definition_problems(field):
                problems.append(_problem(model, el, f"form field '{field.get('id')}' {reason}"))
    return problems


ACTIVITIES = {"userTask", "manualTask", "task", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}


def _escalation_problem(elements: dict, el: dict) -> str | None:
    """Why an `escalates` property cannot be honoured: it must be on a user task and name another task."""
    chases = (el["properties"].get("escalates") or "").strip()
    if el["type"] != "userTask":
        return f"only a user task can escalate another, but `escalates` is on a {el['type']}"
    target = elements.get(chases)
    if target is None:
        return (f"escalates '{chases}', which is not an element of this process (give the id of the task "
                "whose lateness this task chases)")
    if chases == el["id"] or target["type"] not in ACTIVITIES:
        return f"escalates '{chases}', which is {'itself' if chases == el['id'] else 'a ' + target['type']}: " \
               "it must name the task whose lateness this task chases"
    return None


def _assignment_problems(el: dict) -> list[str]:
    """Why nobody, or not whom the diagram says, could work this user task."""
    written = el.get("assignment") or {}
    problems = [f"camunda:{attr} `{text}` is an expression, which the engine does not evaluate here yet; "
                "write a comma-separated list of names" + (" (or put the task in a lane)" if attr == "candidateGroups" else "")
                for attr, text in written.items() if attr in ("candidateGroups", "candidateUsers")
                and re.search(r"[$#]\{", text)]
    if problems or el.get("roles") or el.get("candidate_users"):
        return problems
    foreign = sorted(a for a in written if a.startswith("activiti:"))
    if foreign:
        return [f"user task names who works it only in the Activiti namespace ({', '.join(foreign)}), which the "
                f"engine does not read: write them in the Camunda namespace (xmlns:camunda=\"{CAMUNDA_NS}\")"]
    if written.get("assignee"):
        return [f"user task names only camunda:assignee `{written['assignee']}`, which the engine does not "
                "honour yet, so no role may work it: put it in a lane or give it camunda:candidateGroups "
                "or camunda:candidateUsers"]
    return ["user task is outside any lane and names no camunda:candidateGroups or camunda:candidateUsers, "
            "so no role may work it"]


def call_cycle(model: dict, models: dict) -> list[str] | None:
    """The chain of process ids by which `model` ends up calling itself, if it does."""
    start = model["process_id"]

    def walk(pid, path):
        m = models.get(pid)
        if m is None:
            return None
        for el in m["elements"].values():
            callee = el.get("called_element") if el["type"] == "callActivity" else None
            if not callee:
                continue
            if callee == start:
                return path + [callee]
            if callee not in path:
                found = walk(callee, path + [callee])
                if found:
                    return found
        return None

    return walk(start, [start])


def _data_ref_problem(model: dict, el: dict, ref: str) -> str | None:
    """Why a data association of `el` cannot be resolved the way SpiffWorkflow resolves it, if so.

    The parser looks for the data object in the element's own (sub)process and then in the
    one around it, and no further; for anything else it fails, or, inside a sub-process, loops
    forever. So this is checked here, before the parser sees it.
    """
    target = model.get("data_references", {}).get(ref)
    if target is None:
        return f"data association refers to '{ref}', which is not a data object reference of this diagram"
    if target["kind"] == "store":
        return None  # data stores are refused as a whole by lint_document
    if target["kind"] != "object":
        label = f"'{target['name']}' ({ref})" if target.get("name") else f"'{ref}'"
        return (f"data association refers to the {target['kind']} {label} directly; the engine only "
                "resolves data object references: connect a data object reference instead")
    scopes = [el.get("parent") or ""]
    if el.get("parent"):
        scopes.append(model["elements"].get(el["parent"], {}).get("parent") or "")
    declared = {obj for scope in scopes for obj in model.get("data_objects", {}).get(scope, [])}
    if target["ref"] not in declared:
        return (f"data association refers to '{ref}', whose data object '{target['ref']}' is not declared "
                "in this element's (sub)process or the one directly around it")
    return None


def lint_document(root, file_name: str) -> list[Problem]:
    """Problems in a BPMN file outside its executable processes that still stop the parser.

    SpiffWorkflow reads every process and data store of a file, executable or not.
    """
    problems = []
    ns = {"bpmn": BPMN_NS}
    seen: dict[str, object] = {}
    for el in root.iter(f"{{{BPMN_NS}}}*"):  # vendor extensions may repeat ids harmlessly
        ident = el.get("id")
        if ident is None:
            continue
        if ident in seen:
            problems.append(Problem(file_name, f"id '{ident}' is used by more than one element "
                                    f"(also on line {seen[ident].sourceline}); ids must be unique",
                                    ident, _one_line(el.get("name")), el.sourceline))
        else:
            seen[ident] = el
    for store in root.xpath(".//bpmn:dataStore", namespaces=ns):
        problems.append(Problem(file_name, "element type dataStore is not supported by the engine "
                                "(no data store implementation); remove it or use a data object",
                                store.get("id"), _one_line(store.get("name")), store.sourceline))
    for process in root.xpath("./bpmn:process[not(@isExecutable='true')]", namespaces=ns):
        for task in process.xpath(".//bpmn:businessRuleTask", namespaces=ns):
            if task.get(f"{{{CAMUNDA_NS}}}decisionRef") is None:
                problems.append(Problem(
                    file_name, f"business rule task has no camunda:decisionRef (in non-executable process "
                    f"'{process.get('id')}', which the engine still reads)", task.get("id"), _one_line(task.get("name")),
                    task.sourceline))
    return problems


def lint_decision(decision: dict) -> list[Problem]:
    """Problems that make a decision table unfit to deploy (engine/bpmn/dmn/checks.py checks the table)."""
    problems = []
    if not decision["id"]:
        problems.append(Problem(decision["file"], "a decision has no id", None, decision["name"], decision["line"]))
    if not decision["has_table"]:
        problems.append(Problem(decision["file"], "decision has no decision table (only tables are supported)",
                                decision["id"], decision["name"], decision["line"]))
    elif decision["tables"] > 1:
        problems.append(Problem(decision["file"], "decision has more than one decision table; give each its own "
                                "decision", decision["id"], decision["name"], decision["line"]))
    if decision["requires"]:
        problems.append(Problem(decision["file"], "decision requires other decisions ("
                                + ", ".join(r.lstrip("#") for r in decision["requires"]) + "); decision graphs "
                                "are not supported yet: give the business rule task one decision table that "
                                "reads the process's data", decision["id"], decision["name"], decision["line"]))
    if decision["table"] is not None:
        problems.extend(decision_checks.lint_table(decision))
    return problems
