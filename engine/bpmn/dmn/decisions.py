"""Decisions outside a running workflow: read a draft DMN and decide it exactly as the engine's
business rule tasks do (engine/bpmn/dmn/graph.py over the sandboxed evaluation: a decision with
the decisions of its file it requires)."""
from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn import validation
from engine.bpmn.dmn.evaluate import DecisionFailed
from engine.bpmn.dmn.graph import decide_graph
from engine.bpmn.definitions import owner_of
from engine.bpmn.dmn.model import logic_of
from engine.errors import InvalidDiagram, Problem
from engine.bpmn.parsing import read_document
from engine.bpmn.script_engine import evaluator
from engine.bpmn.tasks import flow_outcome
from engine.sandbox.limits import limit_of

__all__ = ["DecisionFailed", "DraftDecision", "gate_outcome", "read_draft"]


@dataclass
class DraftDecision:
    """One decision of a DMN document (a table or a literal expression), ready to evaluate."""

    id: str
    name: str | None
    table: dict
    logics: dict  # every decision of its file, by id: what it may require

    def decide(self, script_engine, data: dict) -> dict:
        """The hit rules, inputs and outputs for `data`, as the engine's business rule task computes them."""
        try:
            result = decide_graph(self.logics, self.id, dict(data), evaluator(script_engine))
        except DecisionFailed as exc:
            if (hit := limit_of(exc)) is not None:
                raise hit from None  # the sandbox stopped a cell: the whole replay stops
            raise
        return {**result, "rules": [r["id"] for r in result["rules"]]}


def read_draft(content: bytes, file_name: str = "draft.dmn") -> list[DraftDecision]:
    """The decision tables of a DMN document that is not deployed; InvalidDiagram says what is wrong."""
    doc = read_document(file_name, content)
    if isinstance(doc, Problem):
        raise InvalidDiagram([doc])
    if doc.kind != "dmn":
        raise InvalidDiagram([Problem(file_name, "this is a BPMN diagram, not a DMN decision table")])
    siblings = {d["id"]: d for d in doc.decisions}
    problems = [p for d in doc.decisions for p in validation.lint_decision(d, siblings)]
    if not doc.decisions:
        problems.append(Problem(file_name, "no decision in this DMN file"))
    if problems:
        raise InvalidDiagram(problems)
    logics = {d["id"]: logic_of(d) for d in doc.decisions}
    return [DraftDecision(d["id"], d["name"], logic_of(d), logics) for d in doc.decisions]


def gate_outcome(script_engine, model: dict, gateway_id: str, data: dict) -> str | None:
    """The outcome an exclusive gate would take on `data`: the first outgoing flow whose
    condition holds, else the default flow (None when no flow would be taken)."""
    model = owner_of(model, gateway_id)  # the gateway may be in a process the deal's own calls
    if model is None:
        raise DecisionFailed(f"the gateway {gateway_id} is not in the deal's stored diagram")
    el = model["elements"][gateway_id]
    flows = [model["flows"][f] for f in el.get("outgoing", [])]
    evaluate = evaluator(script_engine)
    for flow in flows:
        if flow["id"] != el.get("default_flow") and flow["condition"]:
            try:
                if evaluate(flow["condition"], data):
                    return flow_outcome(flow) or flow.get("name") or flow["id"]
            except Exception as exc:  # noqa: BLE001
                if (hit := limit_of(exc)) is not None:
                    raise hit from None
                written = flow.get("juel") or flow["condition"]  # as the modeller wrote it
                raise DecisionFailed(f"the condition `{written}` of flow {flow['id']} failed: {exc}") from None
    default = model["flows"].get(el.get("default_flow") or "")
    return (flow_outcome(default) or default.get("name") or default["id"]) if default else None
