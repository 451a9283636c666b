"""Deploy-time checks on the plain-data model: each problem names file, element and reason."""
from __future__ import annotations

from . import sandbox
from .errors import Problem


def _problem(model: dict, el: dict | None, reason: str, line=None) -> Problem:
    return Problem(
        file=model["file"],
        element_id=el.get("id") if el else None,
        element_name=el.get("name") if el else None,
        line=line or (el.get("line") if el else None),
        reason=reason,
    )


def check_expression(source: str, mode: str = "eval") -> str | None:
    """None if the expression compiles in the sandbox, else the reason it does not."""
    try:
        sandbox.check(source, mode)
    except sandbox.SandboxError as exc:
        return str(exc)
    return None


def check_dmn_cell(kind: str, text: str | None) -> str | None:
    """Like check_expression, for a decision table cell as the DMN engine will run it."""
    text = (text or "").strip()
    if not text or text == "-":
        return None
    if kind.endswith("input") and kind.startswith("rule"):
        # Input entries are tests on the column's value: "< 50", "in [...]", "'gold'", "? > 3".
        if "?" in text:
            return check_expression(text.replace("?", "dmninputexpr"))
        if check_expression(text) is None:
            return None
        # The DMN engine glues the column's expression straight onto the cell, no space,
        # so "in [...]" breaks at run time; "? in [...]" is how to write it.
        reason = check_expression(f"dmninputexpr{text}")
        if reason and text.split()[0] in ("in", "not", "is"):
            reason += f" (write it as `? {text}`)"
        return reason
    return check_expression(text)


def lint_process(model: dict, known_decisions: set[str], known_processes: set[str]) -> list[Problem]:
    """Problems that make a process unfit to deploy."""
    problems: list[Problem] = []
    elements, flows = model["elements"], model["flows"]
    for flow in flows.values():
        for end in ("source", "target"):
            if flow[end] not in elements:
                problems.append(_problem(model, flow, f"sequence flow {end} '{flow[end]}' is not an element of this process"))
        if flow["condition"]:
            reason = check_expression(flow["condition"])
            if reason:
                problems.append(_problem(model, flow, f"condition `{flow['condition']}` does not compile: {reason}"))
    for el in elements.values():
        tag = el["type"]
        outgoing = el.get("outgoing", [])
        if el.get("default_flow") and el["default_flow"] not in outgoing:
            problems.append(_problem(model, el, f"default flow '{el['default_flow']}' is not an outgoing flow of this element"))
        if tag in ("exclusiveGateway", "inclusiveGateway") and len(outgoing) > 1 and not el.get("default_flow"):
            bare = [f for f in outgoing if not flows[f]["condition"]]
            if bare:
                problems.append(_problem(
                    model, el,
                    "gateway has neither a default flow nor a condition on every outgoing flow "
                    f"(no condition on {', '.join(bare)})"))
        if tag == "userTask" and not el.get("lane"):
            problems.append(_problem(model, el, "user task is outside any lane, so no role may work it"))
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
        for field in el.get("form", []):
            if not field.get("id"):
                problems.append(_problem(model, el, "a form field has no id"))
            elif field["id"].startswith("_"):
                problems.append(_problem(model, el, f"form field id '{field['id']}' may not start with '_'"))
    return problems


def lint_decision(decision: dict) -> list[Problem]:
    """Problems that make a decision table unfit to deploy."""
    problems = []
    if not decision["has_table"]:
        problems.append(Problem(decision["file"], "decision has no decision table (only tables are supported)",
                                decision["id"], decision["name"]))
    for kind, text, line in decision["cells"]:
        reason = check_dmn_cell(kind, text)
        if reason:
            problems.append(Problem(decision["file"], f"{kind} `{text}` does not compile: {reason}",
                                    decision["id"], decision["name"], line))
    return problems
