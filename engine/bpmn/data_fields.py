"""Which data fields a deal can have when an element of its process starts.

A field exists once something upstream set it: a form (the start form, a user task's form),
a decision table's outputs, a script's assignments, a service task's outputs, or a called
process (everything it can set comes back). Upstream means every element from which a path
of sequence flows leads here (loops included), the activity a boundary event sits on, the
inside of a finished sub-process, and, for an event sub-process, whatever runs around it. A
process that is called also has whatever its callers have at the call. Data objects and
multi-instance variables count everywhere in their process.
"""
from __future__ import annotations

import ast
import textwrap

from engine import domain
from engine.bpmn.dmn.evaluate import output_key


def decision_outputs(logic: dict | None) -> list[str]:
    """The data fields a decision gives: its table's outputs, or its literal expression's variable."""
    if not logic:
        return []
    if logic.get("kind") == "literal":
        return [logic["variable"]]
    return [str(output_key(c)).split(".")[0] for c in logic["outputs"] if output_key(c)]



class _OpenFields(Exception):
    """An external task runs upstream: its worker may send any variable, so any field can exist."""


def fields_before(models: dict, process_id: str, element_id: str, tables: dict) -> set[str] | None:
    """Data fields a deal of `process_id` can have when `element_id` starts (models: process id -> model);
    None when an external task upstream may have set any field (a worker's variables are not declared)."""
    try:
        return _before(models, process_id, element_id, tables, set())
    except _OpenFields:
        return None


def _before(models, process_id, element_id, tables, seen) -> set[str]:
    model = models[process_id]
    names = _everywhere(model)
    for eid in upstream(model, element_id):
        names |= _sets(models, model["elements"][eid], tables, seen)
    for caller_id, caller in models.items():
        for el in caller["elements"].values():
            if el["type"] == "callActivity" and el.get("called_element") == process_id \
                    and (caller_id, el["id"]) not in seen:
                seen.add((caller_id, el["id"]))
                names |= _before(models, caller_id, el["id"], tables, seen)
    return names


def upstream(model: dict, target: str) -> set[str]:
    """Ids of the elements that may have finished before `target` starts."""
    elements, flows = model["elements"], model["flows"]
    children: dict = {}
    for el in elements.values():
        children.setdefault(el.get("parent"), []).append(el["id"])
    done, entered, todo = set(), set(), [("enter", target)]
    while todo:
        how, eid = todo.pop()
        el = elements.get(eid)
        if el is None:
            continue
        if how == "done":
            if eid not in done:
                done.add(eid)
                todo.append(("enter", eid))
                todo.extend(("done", c) for c in children.get(eid, []))  # a finished container ran inside
            continue
        if eid in entered:
            continue
        entered.add(eid)
        todo.extend(("done", flows[f]["source"]) for f in el.get("incoming", []) if f in flows)
        if el["type"] == "boundaryEvent" and el.get("attached_to"):
            todo.append(("done", el["attached_to"]))
        parent = el.get("parent")
        if parent in elements:
            todo.append(("enter", parent))
            if not elements[parent].get("incoming"):  # an event sub-process starts while its surroundings run
                todo.extend(("done", s) for s in children.get(elements[parent].get("parent"), []) if s != parent)
    return done


def _everywhere(model: dict) -> set[str]:
    names = {obj for objects in model.get("data_objects", {}).values() for obj in objects if obj}
    for el in model["elements"].values():
        loop = el.get("loop") or {}
        names |= {v for v in (loop.get("collection"), loop.get("element_variable")) if v}
    return names


def _sets(models, el: dict, tables: dict, seen) -> set[str]:
    """The fields an element sets when it finishes."""
    kind = el["type"]
    if kind in ("userTask", "startEvent"):
        return {f["id"] for f in el.get("form", []) if f.get("id")}
    if kind == "businessRuleTask":
        if el.get("result_variable"):  # camunda:resultVariable: the mapped result, nothing else
            return {el["result_variable"]}
        return set(decision_outputs(tables.get(el.get("decision_ref") or "")))
    if kind == "scriptTask":
        return assigned(el.get("script") or "")
    if kind in ("serviceTask", "sendTask"):
        outputs = domain.current().service_outputs
        if el.get("topic") not in outputs:
            raise _OpenFields(el["id"])
        return set(outputs[el["topic"]])
    if kind == "callActivity" and el.get("called_element") in models and ("all", el["called_element"]) not in seen:
        seen.add(("all", el["called_element"]))
        called = models[el["called_element"]]
        return _everywhere(called) | {n for e in called["elements"].values() for n in _sets(models, e, tables, seen)}
    return set()


def assigned(script: str) -> set[str]:
    """Names a script assigns (the fields it leaves in the deal's data)."""
    try:
        tree = ast.parse(textwrap.dedent(script))
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
