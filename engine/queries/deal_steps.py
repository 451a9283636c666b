"""A deal's data by the step that produced it, and the sign-offs a gatekeeper decides on.

Read from the audit trail (what each step submitted or decided, in order) and the version's
diagram (each form's field order, the lanes, the gates): plain data for the deal and task pages.
"""
from __future__ import annotations

from engine.bpmn.definitions import definition
from engine.bpmn.definitions import element as element_of

STEP_KINDS = ("instance_started", "task_completed", "decision_evaluated", "service_task_run",
              "external_task_completed", "message_correlated")
# What a worker or a message set on the deal, under the element that took it.
SENT_DATA = {"external_task_completed": "data", "message_correlated": "variables"}
FIGURE_TYPES = ("long", "double", "date", "enum")  # a sign-off's own fields that are figures, not yes/no or words


def _rows(form: list[dict], values: dict) -> list[dict]:
    """The values in the form's field order, then any the form does not name."""
    listed = [{"id": f["id"], "value": values[f["id"]], "field": f} for f in form if f["id"] in values]
    named = {f["id"] for f in form}
    return listed + [{"id": k, "value": v, "field": None} for k, v in values.items() if k not in named]


def _element(model: dict, e: dict) -> dict:
    return element_of(model, (e["details"] or {}).get("called_process"), e["element_id"])


def _step(model: dict, e: dict) -> dict | None:
    d = e["details"] or {}
    base = {"kind": e["kind"], "element_id": e["element_id"], "actor": e["actor"], "at": e["at"], "seq": e.get("seq")}
    if e["kind"] == "instance_started":
        return {**base, "name": "Start form", "role": None, "rows": _rows(model.get("start_form") or [],
                                                                         d.get("data") or {})}
    if e["kind"] == "task_completed":
        el = _element(model, e)
        return {**base, "name": d.get("task_name") or el.get("name") or e["element_id"], "role": d.get("role"),
                "task_id": d.get("task_id"), "properties": el.get("properties") or {},
                "form": el.get("form") or [], "rows": _rows(el.get("form") or [], d.get("data") or {})}
    if e["kind"] in SENT_DATA:
        return {**base, "name": _element(model, e).get("name") or e["element_id"], "role": None,
                "rows": _rows([], d.get(SENT_DATA[e["kind"]]) or {})}
    outputs = d.get("outputs")
    if isinstance(outputs, dict) and outputs:  # a decision table or service task that set data
        return {**base, "name": d.get("element_name") or e["element_id"], "role": None,
                "rows": _rows([], outputs)}
    return None


def steps(history: list[dict], model: dict, data: dict) -> list[dict]:
    """Every step that added data, oldest first ({name, role, actor, at, rows: [{id, value, field}]}),
    then the data no recorded step set (e.g. a script's) as a step named None."""
    out = [s for s in (_step(model, e) for e in history if e["kind"] in STEP_KINDS) if s and s["rows"]]
    seen = {r["id"] for s in out for r in s["rows"]}
    rest = {k: v for k, v in (data or {}).items() if k not in seen}
    if rest:
        out.append({"kind": "other", "name": None, "role": None, "actor": None, "at": None, "rows": _rows([], rest)})
    return out


def asks_approval(form: list[dict] | None) -> bool:
    """A form that asks a required yes/no question: its task is a sign-off."""
    return any(f.get("type") == "boolean" and "required" in (f.get("constraints") or {}) for f in form or [])


def is_sign_off(step: dict) -> bool:
    """A completed sign-off task."""
    return step["kind"] == "task_completed" and asks_approval(step.get("form"))


def sign_offs(all_steps: list[dict]) -> list[dict]:
    """The latest sign-off of each task, by department (role): who, when, approved or not, the figures
    approved (the task's `approves` property names data keys; else its own number, date and choice
    fields) as they stood then, and the comment."""
    so_far: dict = {}
    latest: dict = {}
    for step in all_steps:
        for r in step["rows"]:
            so_far[r["id"]] = r
        if not is_sign_off(step):
            continue
        by_id = {r["id"]: r for r in step["rows"]}
        form = step["form"]
        named = [k.strip() for k in str(step["properties"].get("approves") or "").split(",") if k.strip()]
        figures = [so_far[k] for k in named if k in so_far] if named else [
            by_id[f["id"]] for f in form if f.get("type") in FIGURE_TYPES and f["id"] in by_id]
        answers = [by_id[f["id"]] for f in form if f.get("type") == "boolean" and f["id"] in by_id]
        comments = [by_id[f["id"]] for f in form if (f.get("type") or "string") == "string" and f["id"] in by_id]
        latest[step["element_id"]] = {
            "task": step["name"], "element_id": step["element_id"], "role": step["role"], "actor": step["actor"],
            "at": step["at"], "approved": all(a["value"] is True for a in answers), "answers": answers,
            "figures": figures, "comments": [c for c in comments if c["value"] not in (None, "")]}
    return list(latest.values())


def gate_after(model: dict, called_process: str | None, element_id: str) -> dict | None:
    """The gate a task feeds (the gateway its way out leads to, when it is a gate): its name, who
    keeps it, the criteria the diagram fixes (property `criteria`) and each way out with its condition."""
    proc = definition(model, called_process)
    flows, elements = proc["flows"], proc["elements"]
    for fid in element_of(model, called_process, element_id).get("outgoing", []):
        target = elements.get(flows[fid]["target"]) or {}
        props = target.get("properties") or {}
        if props.get("gate"):
            return {"id": target.get("id"), "name": target.get("name") or props["gate"], "gate": props["gate"],
                    "gatekeeper": props.get("gatekeeper"), "criteria": props.get("criteria"),
                    "routes": [{"name": flows[o].get("name") or elements.get(flows[o]["target"], {}).get("name"),
                                "condition": flows[o].get("condition")} for o in target.get("outgoing", [])]}
    return None


# Elements worth naming in the path read aloud: the steps, gates, events; not unnamed merges.
SILENT_TYPES = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}


def path(model: dict, trail: dict) -> list[dict]:
    """The deal's path through its diagram as a list a screen reader reads: each element it has been
    through, in order, with its name, lane and visit count, then where it is now."""
    elements = model["elements"]
    current = trail["current"]
    seen = [(eid, times) for eid, times in trail["visited"].items()] + [(eid, 0) for eid in current
                                                                         if eid not in trail["visited"]]
    out = []
    for element_id, times in seen:
        el = elements.get(element_id)
        if not el or (el.get("type") in SILENT_TYPES and not el.get("name")):
            continue
        out.append({"id": element_id, "name": el.get("name") or element_id, "type": el.get("type"),
                    "lane": el.get("lane"), "times": times, "now": element_id in current})
    return out
