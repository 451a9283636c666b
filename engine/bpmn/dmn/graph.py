"""Decisions as Camunda 7 runs them: a decision with the decisions it requires, and the result a
business rule task maps into the process.

`decide_graph(logics, decision_id, data, evaluate)` evaluates every required decision first
(depth first, each once), as Camunda's DefaultDmnDecisionContext does, and feeds each one's
result to the decisions after it: nothing when it matched no rule; its outputs by name when it
gave one result (and is not a COLLECT or RULE ORDER table); else each output name as the list of
its values. `logics` maps decision ids to their plain data (a decision table, engine/
decision_eval.py, or a literal expression, engine/bpmn/dmn/model.py).

`map_result(result, mapping)` is camunda:mapDecisionResult: singleEntry, singleResult,
collectEntries or resultList (the default), with Camunda's failures when the result does not fit.
"""
from __future__ import annotations

from engine.bpmn.dmn.evaluate import DecisionFailed, decide, fits, type_name
from engine.bpmn.dmn.dialects import evaluate_in
from engine.bpmn.dmn.unary_tests import CellRefused

MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
_LISTING = ("COLLECT", "RULE ORDER")


def evaluation_order(logics: dict, decision_id: str) -> list[str]:
    """The decision's required decisions, depth first, then the decision itself (each once)."""
    order: list[str] = []

    def visit(did: str, path: tuple) -> None:
        if did in order:
            return
        if did in path:
            raise DecisionFailed(f"decision '{did}' requires itself ({' -> '.join((*path, did))})")
        if did not in logics:
            raise DecisionFailed(f"decision '{path[-1]}' requires decision '{did}', which is not deployed with it")
        for required in logics[did].get("requires") or []:
            visit(required, (*path, did))
        order.append(did)

    visit(decision_id, ())
    return order


def required_closure(logics: dict, decision_id: str) -> list[str]:
    """The decision and every decision it requires, directly or not, that `logics` holds (no failure
    for a missing or circular requirement: deploy refuses those, engine/bpmn/validation.py)."""
    found, todo = [], [decision_id]
    while todo:
        did = todo.pop()
        if did in found or logics.get(did) is None:
            continue
        found.append(did)
        todo.extend(logics[did].get("requires") or [])
    return found


def decide_graph(logics: dict, decision_id: str, data: dict, evaluate) -> dict:
    """The decision's result (as engine/bpmn/dmn/evaluate.py's decide gives it) with 'required': the
    results of the decisions it required, in the order they were evaluated."""
    context = dict(data)
    evaluated = []
    for did in evaluation_order(logics, decision_id):
        logic = logics[did]
        result = _literal(logic, context, evaluate) if logic.get("kind") == "literal" else decide(logic, context, evaluate)
        result = {**result, "decision": did}
        evaluated.append(result)
        if did != decision_id:
            _feed(context, result, logic)
    return {**evaluated[-1], "required": evaluated[:-1]}


def _literal(logic: dict, context: dict, evaluate) -> dict:
    where = f"decision '{logic['decision']}'"
    try:
        value = evaluate_in(evaluate, logic["expression"], logic.get("dialect") or "python", context)
    except CellRefused as exc:
        raise DecisionFailed(f"{where}: literal expression `{logic['expression']}` {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of diagram code is this deal's failure
        raise DecisionFailed(f"{where}: literal expression `{logic['expression']}` failed: "
                             f"{str(exc) or type(exc).__name__}") from None
    if not fits(value, logic.get("type_ref")):
        raise DecisionFailed(f"{where}: literal expression `{logic['expression']}` gave {value!r}, which is not a "
                             f"{type_name(logic.get('type_ref'))}")
    out = {logic["variable"]: value}
    return {"inputs": {}, "rules": [], "description": None, "outputs": out, "results": [out]}


def _feed(context: dict, result: dict, logic: dict) -> None:
    results = result["results"]
    if not results:
        return
    if len(results) == 1 and logic.get("hit_policy") not in _LISTING:
        context.update(results[0])
        return
    for name in dict.fromkeys(k for r in results for k in r):
        context[name] = [r[name] for r in results if name in r]


def decide_for_task(logics: dict, decision_id: str, task: dict, data: dict, evaluate) -> dict:
    """The decision's result for a business rule task (its model element): with camunda:resultVariable,
    'outputs' is that variable alone, holding the mapped result, as Camunda sets nothing else."""
    result = decide_graph(logics, decision_id, data, evaluate)
    if task.get("result_variable"):
        result["outputs"] = {task["result_variable"]: map_result(result, task.get("map_decision_result"))}
    return result


def map_result(result: dict, mapping: str | None) -> object:
    """The value camunda:mapDecisionResult gives the result variable."""
    results, decision = result["results"], result["decision"]
    mapping = mapping or "resultList"
    if mapping == "resultList":
        return [dict(r) for r in results]
    if mapping == "collectEntries":
        names = list(dict.fromkeys(k for r in results for k in r))
        if len(names) > 1:
            raise DecisionFailed(f"decision '{decision}' gives the outputs {', '.join(names)}; collectEntries maps "
                                 "one output only (use resultList, or a table with one output)")
        return [r[names[0]] for r in results if names[0] in r] if names else []
    if len(results) > 1:
        raise DecisionFailed(f"decision '{decision}' gave {len(results)} results; {mapping} maps one only (use "
                             "collectEntries or resultList, or a single-hit table)")
    if not results:
        return None
    if mapping == "singleResult":
        return dict(results[0])
    if len(results[0]) > 1:
        raise DecisionFailed(f"decision '{decision}' gives the outputs {', '.join(results[0])}; singleEntry maps one "
                             "output only (use singleResult)")
    return next(iter(results[0].values()), None)
