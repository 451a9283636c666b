"""Rewrite the JUEL a Camunda 7 model holds where SpiffWorkflow evaluates it, as checked Python.

Read before the parser sees the document: sequence-flow and conditional-event conditions, timer values and the
multi-instance loop (loopCardinality, completionCondition, camunda:collection and
camunda:elementVariable). The stored file keeps its text as the author wrote it; what the
engine runs is the translation, which the deploy checks and the sandbox check again.
Text that does not translate is left as written, so deploy refuses it saying why.
"""
from __future__ import annotations

from engine.bpmn import juel
from engine.bpmn.diagram_model import BPMN_NS, CAMUNDA_NS, JUEL_WRITTEN as WRITTEN

_TEXTS = ("conditionExpression", "condition", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
          "completionCondition")  # `condition`: a conditional event's
_NAMES = ("collection", "elementVariable")
_SCRIPT_LANGUAGES = {None, "", "juel", "${", "http://www.omg.org/spec/juel/20070312", "python"}


def translate_document(root) -> None:
    """Replace each JUEL text SpiffWorkflow will evaluate by its Python translation, in place."""
    for el in root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _TEXTS)):
        text = (el.text or "").strip()
        if not juel.is_juel(text) or (el.get("language") or "").lower() not in _SCRIPT_LANGUAGES:
            continue
        try:
            el.text = juel.translate(text)
        except juel.JuelError:
            continue  # validation reports it with the element and line
        el.set(WRITTEN, text)
    for el in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        for attr in _NAMES:
            value = el.get(f"{{{CAMUNDA_NS}}}{attr}")
            if value and juel.is_juel(value):
                try:
                    el.set(f"{{{CAMUNDA_NS}}}{attr}", juel.variable_name(value))
                except juel.JuelError:
                    continue


def written(el) -> str | None:
    """The JUEL text an element held before translation, if it was rewritten."""
    return el.get(WRITTEN) if el is not None else None
