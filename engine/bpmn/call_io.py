"""What a call activity passes to and from the process it calls: Camunda 7's camunda:in and camunda:out.

Read at deploy as plain data (engine/call_mapping.py applies them as the called process starts and ends).
"""
from __future__ import annotations

from engine import sandbox
from engine.bpmn import juel

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SAME_BUSINESS_KEY = {"#{execution.processBusinessKey}", "${execution.processBusinessKey}"}


class MappingError(ValueError):
    """A mapping the engine cannot honour."""


def read_mappings(el) -> dict:
    """The camunda:in/out mappings of a call activity element, as plain data; MappingError names what is refused."""
    found = {"in": [], "out": []}
    for direction in ("in", "out"):
        for m in el.findall(f"./{{http://www.omg.org/spec/BPMN/20100524/MODEL}}extensionElements/{{{CAMUNDA_NS}}}{direction}"):
            key = m.get("businessKey")
            if key is not None:
                if direction == "in" and key.strip() in SAME_BUSINESS_KEY:
                    continue  # the called process runs in the caller's deal, with its business key
                raise MappingError(f"camunda:{direction} businessKey=\"{key}\" is not supported: a called process "
                                   "runs inside the caller's deal and has its business key; remove the attribute "
                                   "or write #{execution.processBusinessKey}")
            if m.get("variables") == "all":
                found[direction].append({"all": True})
                continue
            target, source, expr = m.get("target"), m.get("source"), m.get("sourceExpression")
            if not target or not (source or expr):
                raise MappingError(f"camunda:{direction} needs a target and a source or sourceExpression "
                                   "(or variables=\"all\")")
            if expr is not None:
                try:
                    expr = juel.translate(expr) if juel.is_juel(expr) else expr
                except juel.JuelError as exc:
                    raise MappingError(f"camunda:{direction} sourceExpression `{m.get('sourceExpression')}`: "
                                       f"JUEL the engine cannot run: {exc}") from None
            found[direction].append({"target": target, "source": source, "expression": expr})
    return found


def problems(el) -> list[str]:
    """Why the engine cannot honour a call activity's mappings (empty: it can)."""
    try:
        mappings = read_mappings(el)
    except MappingError as exc:
        return [str(exc)]
    found = []
    for direction, items in mappings.items():
        for m in items:
            try:
                if m.get("expression") is not None:
                    sandbox.check(m["expression"])
            except sandbox.SandboxError as exc:
                found.append(f"camunda:{direction} sourceExpression for '{m['target']}' does not compile: {exc}")
    return found
