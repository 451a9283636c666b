"""Decision tables outside a running workflow: read a draft DMN and evaluate it exactly as the
engine's business rule tasks do (SpiffWorkflow's DMN engine over our sandboxed script engine)."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from . import validation
from .errors import InvalidDiagram, Problem
from .parsing import Document, _problem_from_spiff, read_document
from .runtime import describe, flow_outcome, plain
from .sandbox_limits import limit_of


class DecisionFailed(Exception):
    """The table could not decide for these data (no rule matched, or a cell raised)."""


class _Probe:
    """What SpiffWorkflow's DMN engine needs of a task: its data and the workflow's script engine."""

    def __init__(self, data: dict, script_engine, decision_id: str, file_name: str):
        self.data = data
        self.task_spec = SimpleNamespace(bpmn_id=decision_id, bpmn_name=decision_id, name=decision_id)
        workflow = SimpleNamespace(script_engine=script_engine, spec=SimpleNamespace(file=file_name))
        workflow.top_workflow = workflow
        self.workflow = workflow


@dataclass
class DraftDecision:
    """One decision table of a DMN document, ready to evaluate."""

    id: str
    name: str | None
    file_name: str
    engine: object

    def decide(self, script_engine, data: dict) -> dict:
        """The matched rules and outputs for `data`, as the engine's business rule task computes them."""
        task = _Probe(dict(data), script_engine, self.id, self.file_name)
        table = self.engine.decision_table
        try:
            inputs = {(i.label or i.expression): plain(script_engine.evaluate(task, i.expression)) if i.expression
                      else None for i in table.inputs}
            rules = self.engine.decide(task)
            if not rules:
                raise DecisionFailed(f"no rule of '{self.id}' matches the inputs {inputs}")
            outputs = rules[0].output_as_dict(task) if len(rules) == 1 else self.engine.result(task)
        except DecisionFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - a cell that raises is this deal's failure, not a crash
            if (hit := limit_of(exc)) is not None:
                raise hit from None  # the sandbox stopped it: the whole replay stops
            raise DecisionFailed(describe(exc)) from None
        return {"inputs": inputs, "rules": [r.id for r in rules],
                "description": "; ".join(r.description for r in rules if r.description) or None,
                "outputs": plain(dict(outputs))}


def read_draft(content: bytes, file_name: str = "draft.dmn") -> list[DraftDecision]:
    """The decision tables of a DMN document that is not deployed; InvalidDiagram says what is wrong."""
    doc = read_document(file_name, content)
    if isinstance(doc, Problem):
        raise InvalidDiagram([doc])
    if doc.kind != "dmn":
        raise InvalidDiagram([Problem(file_name, "this is a BPMN diagram, not a DMN decision table")])
    problems = [p for d in doc.decisions for p in validation.lint_decision(d)]
    if not doc.decisions:
        problems.append(Problem(file_name, "no decision in this DMN file"))
    if problems:
        raise InvalidDiagram(problems)
    return _tables(doc)


def _tables(doc: Document) -> list[DraftDecision]:
    parser = CamundaParser()
    out = []
    try:
        parser.add_dmn_xml(doc.root, filename=doc.file_name)
        for d in doc.decisions:
            out.append(DraftDecision(d["id"], d["name"], doc.file_name, parser.get_engine(d["id"], None)))
    except Exception as exc:  # noqa: BLE001 - any parser failure is a clear refusal, never a crash
        raise InvalidDiagram([_problem_from_spiff(exc, doc.file_name)]) from None
    return out


def gate_outcome(script_engine, model: dict, gateway_id: str, data: dict) -> str | None:
    """The outcome an exclusive gate would take on `data`: the first outgoing flow whose
    condition holds, else the default flow (None when no flow would be taken)."""
    el = model["elements"][gateway_id]
    flows = [model["flows"][f] for f in el.get("outgoing", [])]
    task = _Probe(dict(data), script_engine, gateway_id, "")
    for flow in flows:
        if flow["id"] != el.get("default_flow") and flow["condition"]:
            try:
                if script_engine.evaluate(task, flow["condition"]):
                    return flow_outcome(flow) or flow.get("name") or flow["id"]
            except Exception as exc:  # noqa: BLE001
                if (hit := limit_of(exc)) is not None:
                    raise hit from None
                raise DecisionFailed(f"the condition `{flow['condition']}` of flow {flow['id']} failed: "
                                     f"{describe(exc)}") from None
    default = model["flows"].get(el.get("default_flow") or "")
    return (flow_outcome(default) or default.get("name") or default["id"]) if default else None
