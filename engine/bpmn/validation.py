"""Deploy-time checks on the plain-data model: each problem names file, element and reason."""
from __future__ import annotations

import re

from engine.bpmn.dmn import checks as decision_checks
from engine.bpmn import forms, juel
from engine import outcomes, sandbox
from engine.bpmn.diagram_model import BPMN_NS, CAMUNDA_NS
from engine.bpmn.external_checks import external_task_problems
from engine.bpmn.message_checks import message_problem
from engine.bpmn.schedules import ScheduleError, read as read_schedule
from engine.errors import Problem
from engine.bpmn.dmn.graph import MAPPINGS

# Flow node types SpiffWorkflow parses but this engine cannot run or store: no message
# transport, no complex gateway. Refused by name instead of by a crash.
UNSUPPORTED_TYPES = {
    "complexGateway": "complex gateways have no implementation",
}
# Elements that may fork the flow themselves; anything else needs a gateway to split.
MAY_SPLIT = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway", "startEvent", "boundaryEvent"}
# Text shaped like cron (5 to 7 fields of digits, names, * ? / , - L W #); Quartz cron the parser
# could read was quoted as text, so what still has this shape is cron to say the fault of.
_QUARTZ = re.compile(r"^\s*[\d*?/,\-LW#A-Z]+(\s+[\d*?/,\-LW#A-Z]+){4,6}\s*$")
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
    """None if the expression compiles in the sandbox, else the reason it does not (JUEL is checked as
    the Python it translates into)."""
    if juel.is_juel(source):
        try:
            source = juel.translate(source)
        except juel.JuelError as exc:
            return f"JUEL the engine cannot run: {exc}"
    try:
        sandbox.check(source, mode)
    except sandbox.SandboxError as exc:
        return str(exc) + _dialect_hint(source)
    return None


def _dialect_hint(source: str) -> str:
    """Say so when an expression is written for another engine (diagrams drawn elsewhere)."""
    text = source.strip()
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
    for what in model.get("unrun", []):
        problems.append(_problem(model, {"id": model["process_id"], "name": model["name"]}, _unrun(what),
                                 model.get("line")))
    problems += [_problem(model, flow, _unrun(what)) for flow in flows.values() for what in flow.get("unrun", [])]
    for el in list(elements.values()) + list(flows.values()):
        if not el["id"]:
            problems.append(_problem(model, el, f"a {el.get('type') or 'sequenceFlow'} has no id"))
    for el in elements.values():
        tag = el["type"]
        outgoing = el.get("outgoing", [])
        if tag in ("serviceTask", "sendTask"):
            problems += [_problem(model, el, reason) for reason in external_task_problems(el)]
        elif tag in UNSUPPORTED_TYPES:
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
        problems.extend(_problem(model, el, f"execution listener {how} is not run by the engine (it runs no Java, "
                                 "beans or listener scripts): do the work in a Python script task, or a service task")
                        for how in el.get("execution_listeners", []))
        if tag == "businessRuleTask":
            ref = el.get("decision_ref")
            if not ref:
                problems.append(_problem(model, el, "business rule task has no camunda:decisionRef"))
            elif ref not in known_decisions:
                problems.append(_problem(model, el, f"decision '{ref}' is not deployed and not in this deployment"))
            mapping = el.get("map_decision_result")
            if mapping and mapping not in MAPPINGS:
                problems.append(_problem(model, el, f"camunda:mapDecisionResult '{mapping}' is not one Camunda knows "
                                         f"({', '.join(MAPPINGS)})"))
        problems.extend(_problem(model, el, reason) for reason in el.get("mapping_problems", []) + el.get("io_problems", []))
        if el.get("io") and tag not in ("userTask", "scriptTask", "serviceTask", "sendTask"):
            problems.append(_problem(model, el, f"camunda:inputOutput on a {tag} is not run by the engine (only on user, "
                                     "script and external service and send tasks): set the variables in a Python "
                                     "script task before or after it"))
        if tag == "callActivity" and el.get("called_element") not in known_processes:
            problems.append(_problem(model, el, f"called process '{el.get('called_element')}' is not deployed and not in this deployment"))
        if tag == "boundaryEvent" and el.get("attached_to") not in elements:
            problems.append(_problem(model, el, f"boundary event is attached to unknown element '{el.get('attached_to')}'"))
        if tag == "scriptTask" and (el.get("script_format") or "python").strip().lower() != "python":
            problems.append(_problem(model, el, f"script is written in {el['script_format']}, which the engine does not "
                                     "run: rewrite it in Python (scriptFormat=\"python\"), which runs sandboxed over "
                                     "the process data"))
        elif tag == "scriptTask" and el.get("script"):
            reason = check_expression(el["script"], "exec")
            if reason:
                problems.append(_problem(model, el, f"script does not compile: {reason}"))
        if el.get("timer") and tag == "startEvent" and not el.get("parent"):
            if reason := schedule_problem(el["timer"]):
                problems.append(_problem(model, el, reason))
        elif el.get("timer") and _QUARTZ.match(el["timer"]["expression"]):  # well-formed cron is quoted as text
            problems.append(_problem(model, el, schedule_problem(el["timer"]) or
                                     f"timer `{el['timer']['expression']}` is not a value the engine reads"))
        elif el.get("timer"):
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


def schedule_problem(timer: dict) -> str | None:
    """Why a timer start event's timer is no schedule the worker can keep (or a timer's cron is not
    Quartz cron), if it is not."""
    try:
        read_schedule(timer["kind"], timer.get("written") or timer["expression"])
    except ScheduleError as exc:
        return str(exc)
    return None


def _unrun(what: str) -> str:
    return (f"{what} is code the engine does not run (listeners and scripts in other languages than Python): do the "
            "work in a Python script task before or after this element")


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


_NAMING = ("candidateGroups", "candidateUsers", "assignee", "potentialOwner", "humanPerformer")


def _names_someone(el: dict) -> bool:
    """Whether the user task says who works it: a lane, names, expressions, or names the engine cannot read."""
    return bool(el.get("roles") or el.get("candidate_users") or el.get("assignee") or el.get("assignment_expressions")
                or any(word in p for p in el.get("assignment_problems") or [] for word in _NAMING))


def _foreign(el: dict) -> list[str]:
    return sorted(a for a in el.get("assignment") or {} if a.startswith("activiti:"))


def _assignment_problems(el: dict) -> list[str]:
    """Why not whom the diagram says could work this user task (naming nobody is no problem: anyone may)."""
    problems = list(el.get("assignment_problems") or [])
    if not _names_someone(el) and _foreign(el):
        problems.append(f"user task names who works it only in the Activiti namespace ({', '.join(_foreign(el))}), "
                        f"which the engine does not read: write them in the Camunda namespace (xmlns:camunda=\"{CAMUNDA_NS}\")")
    return problems


def names_nobody(el: dict) -> bool:
    """True if the user task is outside any lane and names nobody to work it: any staff member may."""
    return el["type"] == "userTask" and not _names_someone(el) and not _foreign(el)


def anyone_warnings(model: dict) -> list[Problem]:
    """What deploys but is open to anyone: each user task that names nobody, as Camunda runs it."""
    return [_problem(model, el, f"task '{_one_line(el.get('name')) or el['id']}' names nobody: "
                     "any staff member may claim it, as in Camunda; put it in a lane or name candidate groups "
                     "to restrict it") for el in model["elements"].values() if names_nobody(el)]


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


def hangs_parser(model: dict) -> bool:
    """Whether SpiffWorkflow's parser would fail or loop on this process's data associations."""
    return any(_data_ref_problem(model, el, ref) for el in model["elements"].values() for ref in el.get("data_refs", []))


def calls_unknown(model: dict, known_processes: set[str]) -> bool:
    """Whether a call activity of this process names a process that is neither deployed nor deployed with it."""
    return any(el.get("called_element") not in known_processes for el in model["elements"].values()
               if el["type"] == "callActivity")


def _data_ref_problem(model: dict, el: dict, ref: str) -> str | None:
    """Why a data association of `el` cannot be resolved the way SpiffWorkflow resolves it, if so.

    The parser looks for the data object in the element's own (sub)process and then in the
    one around it, and no further; for anything else it fails, or, inside a sub-process, loops
    forever. So this is checked here, before the parser sees it.
    """
    target = model.get("data_references", {}).get(ref)
    if target is None:
        return f"data association refers to '{ref}', which is not a data object reference of this diagram"
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

    SpiffWorkflow reads every process of a file, executable or not (data stores are dropped before,
    engine/bpmn/camunda_compat.py).
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
    for process in root.xpath("./bpmn:process[not(@isExecutable='true')]", namespaces=ns):
        for task in process.xpath(".//bpmn:businessRuleTask", namespaces=ns):
            if task.get(f"{{{CAMUNDA_NS}}}decisionRef") is None:
                problems.append(Problem(
                    file_name, f"business rule task has no camunda:decisionRef (in non-executable process "
                    f"'{process.get('id')}', which the engine still reads)", task.get("id"), _one_line(task.get("name")),
                    task.sourceline))
    return problems


def lint_decision(decision: dict, siblings: dict | None = None) -> list[Problem]:
    """Problems that make a decision unfit to deploy (engine/bpmn/dmn/checks.py checks its logic).

    `siblings`: the decisions of the same file by id, where its required decisions must be."""
    problems = []
    if not decision["id"]:
        problems.append(Problem(decision["file"], "a decision has no id", None, decision["name"], decision["line"]))
    if not decision["has_table"] and decision.get("literal") is None:
        problems.append(Problem(decision["file"], "decision has neither a decision table nor a literal expression "
                                "(those are what the engine decides)", decision["id"], decision["name"], decision["line"]))
    elif decision["tables"] > 1:
        problems.append(Problem(decision["file"], "decision has more than one decision table; give each its own "
                                "decision", decision["id"], decision["name"], decision["line"]))
    problems.extend(decision_checks.lint_requirements(decision, siblings if siblings is not None else {}))
    if decision["table"] is not None:
        problems.extend(decision_checks.lint_table(decision))
    elif decision.get("literal") is not None:
        problems.extend(decision_checks.lint_literal(decision))
    return problems
