"""Camunda 7 habits the engine reads as Camunda does, before anything else sees the document.

Camunda deploys these; so do we, saying (as a warning) what the engine leaves out:
- the legacy Activiti namespace (http://activiti.org/bpmn) means camunda:;
- a sequence flow without an id gets one (Camunda's parser names them itself);
- data stores are documentation: their references and associations are dropped;
- camunda:formKey names a form the engine cannot show: the task shows its camunda:formData fields.
"""
from __future__ import annotations

from engine.bpmn.diagram_model import ACTIVITI_NS, BPMN_NS, CAMUNDA_NS
from engine.errors import Problem

_BPMN = f"{{{BPMN_NS}}}"
_ACTIVITI = f"{{{ACTIVITI_NS}}}"
_CAMUNDA = f"{{{CAMUNDA_NS}}}"


def _name(el) -> str | None:
    return " ".join(el.get("name").split()) if el.get("name") else None


def _warning(file_name: str, el, reason: str) -> Problem:
    return Problem(file_name, reason, el.get("id"), _name(el), el.sourceline)


def read_as_camunda(root, file_name: str) -> list[Problem]:
    """Rewrite `root` in place as the engine reads it; the warnings say what it will not do."""
    _activiti_as_camunda(root)
    _name_flows(root)
    warnings = _drop_data_stores(root, file_name)
    for el in root.iter():
        key = el.get(f"{_CAMUNDA}formKey") if isinstance(el.tag, str) else None
        if key:
            warnings.append(_warning(file_name, el, f"camunda:formKey `{key}` names a form the engine does not show; "
                                     "people see the camunda:formData fields of this element only"
                                     + ("" if el.find(f"{_BPMN}extensionElements/{_CAMUNDA}formData") is not None
                                        else " (it has none: work it through the API or CLI with variables)")))
    return warnings


def _activiti_as_camunda(root) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith(_ACTIVITI):
            el.tag = _CAMUNDA + el.tag[len(_ACTIVITI):]
        for key in [k for k in el.attrib if k.startswith(_ACTIVITI)]:
            value = el.attrib.pop(key)
            if el.get(_CAMUNDA + key[len(_ACTIVITI):]) is None:  # a camunda: twin wins
                el.set(_CAMUNDA + key[len(_ACTIVITI):], value)


def _name_flows(root) -> None:
    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in root.iter(f"{_BPMN}sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"Flow_{flow.get('sourceRef') or 'start'}_{flow.get('targetRef') or 'end'}"
        ident, n = base, 1
        while ident in taken:
            n += 1
            ident = f"{base}_{n}"
        taken.add(ident)
        flow.set("id", ident)


def _drop_data_stores(root, file_name: str) -> list[Problem]:
    warnings = []
    stores = list(root.iter(f"{_BPMN}dataStore"))
    refs = {r.get("id"): r for r in root.iter(f"{_BPMN}dataStoreReference")}
    for store in stores:
        warnings.append(_warning(file_name, store, "data store is documentation to the engine: it deploys, but "
                                 "nothing reads or writes it (keep what a step needs in the process's data)"))
        store.getparent().remove(store)
    for assoc in list(root.iter(f"{_BPMN}dataInputAssociation", f"{_BPMN}dataOutputAssociation",
                                f"{_BPMN}association")):
        ends = [e.text.strip() for e in assoc.iter(f"{_BPMN}sourceRef", f"{_BPMN}targetRef") if e.text]
        ends += [assoc.get("sourceRef"), assoc.get("targetRef")]
        if any(e in refs for e in ends if e):
            assoc.getparent().remove(assoc)
    for ref in refs.values():
        ref.getparent().remove(ref)
    return warnings
