"""Read a BPMN/DMN document into plain data: lanes and roles, forms, stages, gates, flows.

This index is what the inbox, the forms and the audit use; it is stored with each version
so nothing outside the engine needs SpiffWorkflow objects to know what a task asks for.
"""
from __future__ import annotations

import ast
import re

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"  # Camunda's predecessor; old models still use it
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
}
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
CONDITIONAL_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}


ISO_TIMER = re.compile(
    r"^(R\d*/)?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
    r"|^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$")


def quote_iso_timers(root) -> None:
    """Camunda Modeler writes timers as bare ISO text (P3D); our engine evaluates them as
    Python, so a bare ISO value is turned into a string literal before parsing."""
    for el in root.iter(f"{{{BPMN_NS}}}timeDuration", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeCycle"):
        text = (el.text or "").strip()
        if ISO_TIMER.match(text):
            el.text = repr(text)


def role_key(name: str | None) -> str:
    """Roles are matched case-insensitively and ignoring surrounding blanks."""
    return " ".join((name or "").split()).casefold()


def document_kind(root: etree._Element) -> str | None:
    """'bpmn', 'dmn' or None for a document that is neither."""
    ns = etree.QName(root).namespace
    local = etree.QName(root).localname
    if local != "definitions":
        return None
    if ns == BPMN_NS:
        return "bpmn"
    if ns in DMN_NAMESPACES:
        return "dmn"
    return None


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _properties(el) -> dict:
    props = {}
    for p in el.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if p.get("name"):
            props[p.get("name")] = p.get("value")
    return props


def _form(el) -> list[dict]:
    fields = []
    for f in el.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NS):
        field = {
            "id": f.get("id"),
            "label": f.get("label") or f.get("id"),
            "type": f.get("type") or "string",
            "default": f.get("defaultValue"),
            "constraints": {},
            "options": [],
        }
        for c in f.xpath("./camunda:validation/camunda:constraint", namespaces=NS):
            field["constraints"][c.get("name")] = c.get("config")
        for v in f.xpath("./camunda:value", namespaces=NS):
            field["options"].append({"id": v.get("id"), "name": v.get("name") or v.get("id")})
        field["properties"] = {p.get("id") or p.get("name"): p.get("value")
                               for p in f.xpath("./camunda:properties/camunda:property", namespaces=NS)
                               if p.get("id") or p.get("name")}
        fields.append(field)
    return fields


ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee")


def _names(text: str | None) -> list[str]:
    """A comma-separated camunda: list ("Accounting, Sales") as its names, blanks dropped."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _assignment(el) -> dict:
    """The attributes that say who works a user task, as written (for deploy's checks); those in
    the older Activiti namespace, which the engine does not read, under "activiti:<name>"."""
    found = {a: el.get(f"{{{CAMUNDA_NS}}}{a}") for a in ASSIGNMENT_ATTRIBUTES
             if el.get(f"{{{CAMUNDA_NS}}}{a}") is not None}
    found.update({f"activiti:{a}": el.get(f"{{{ACTIVITI_NS}}}{a}") for a in ASSIGNMENT_ATTRIBUTES
                  if el.get(f"{{{ACTIVITI_NS}}}{a}") is not None})
    return found


def _lanes(process) -> dict[str, str]:
    """flow node id -> name of the innermost lane that lists it."""
    lanes = {}
    for ref in process.xpath(".//bpmn:lane/bpmn:flowNodeRef", namespaces=NS):
        if ref.text:
            lanes[ref.text.strip()] = ref.getparent().get("name") or ""
    return lanes


def _message_of(el, messages: dict) -> dict | None:
    """The message a receive task or message event waits for (or sends): its ref and name, as written."""
    ref = el.get("messageRef") if _local(el) in ("receiveTask", "sendTask") else None
    found = el.find(f"{{{BPMN_NS}}}messageEventDefinition")
    if ref is None and found is None and _local(el) not in ("receiveTask", "sendTask"):
        return None
    ref = ref or (found.get("messageRef") if found is not None else None)
    name, correlated = messages.get(ref, (None, False)) if ref else (None, False)
    return {"ref": ref, "name": name, "correlated": correlated}


def process_model(process, file_name: str) -> dict:
    """Plain-data index of one bpmn:process element."""
    lanes = _lanes(process)
    root = process.getroottree().getroot()
    correlated = {e.get("messageRef") for e in root.xpath(".//bpmn:correlationPropertyRetrievalExpression",
                                                          namespaces=NS)}
    messages = {m.get("id"): (m.get("name"), m.get("id") in correlated)
                for m in root.xpath(".//bpmn:message", namespaces=NS)}
    elements: dict[str, dict] = {}
    flows: dict[str, dict] = {}

    def walk(container, parent_id, inherited_lane):
        for el in container:
            tag = _local(el)
            if tag == "sequenceFlow":
                cond = el.find(f"{{{BPMN_NS}}}conditionExpression")
                flows[el.get("id")] = {
                    "id": el.get("id"),
                    "name": el.get("name"),
                    "source": el.get("sourceRef"),
                    "target": el.get("targetRef"),
                    "condition": (cond.text or "").strip() if cond is not None else None,
                    "properties": _properties(el),
                    "line": el.sourceline,
                }
            elif tag in FLOW_NODE_TAGS:
                eid = el.get("id")
                lane = lanes.get(eid, inherited_lane)
                groups = _names(el.get(f"{{{CAMUNDA_NS}}}candidateGroups"))
                roles = []
                for r in ([lane] if lane else []) + groups:
                    if role_key(r) and role_key(r) not in roles:
                        roles.append(role_key(r))
                item = {
                    "id": eid,
                    "type": tag,
                    "name": el.get("name"),
                    "parent": parent_id,
                    "lane": lane,
                    "roles": roles,
                    "properties": _properties(el),
                    "default_flow": el.get("default"),
                    "line": el.sourceline,
                }
                if tag in ("userTask", "startEvent"):
                    item["form"] = _form(el)
                if tag == "userTask":
                    item["assignment"] = _assignment(el)
                    item["candidate_users"] = list(dict.fromkeys(_names(el.get(f"{{{CAMUNDA_NS}}}candidateUsers"))))
                if tag == "businessRuleTask":
                    item["decision_ref"] = el.get(f"{{{CAMUNDA_NS}}}decisionRef")
                if tag == "serviceTask":
                    item["topic"] = el.get(f"{{{CAMUNDA_NS}}}topic") if el.get(f"{{{CAMUNDA_NS}}}type") == "external" else None
                if tag == "callActivity":
                    item["called_element"] = el.get("calledElement")
                if tag == "boundaryEvent":
                    item["attached_to"] = el.get("attachedToRef")
                    item["cancel_activity"] = el.get("cancelActivity", "true") != "false"
                loop = el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
                if loop is not None:
                    item["loop"] = {"collection": loop.get(f"{{{CAMUNDA_NS}}}collection"),
                                    "element_variable": loop.get(f"{{{CAMUNDA_NS}}}elementVariable")}
                if tag == "scriptTask":
                    script = el.find(f"{{{BPMN_NS}}}script")
                    item["script"] = script.text if script is not None else None
                timer = el.xpath("./bpmn:timerEventDefinition/*", namespaces=NS)
                if timer:
                    item["timer"] = {"kind": _local(timer[0]), "expression": (timer[0].text or "").strip()}
                item["event_definitions"] = [
                    _local(d) for d in el if _local(d).endswith("EventDefinition")
                ]
                if (message := _message_of(el, messages)) is not None:
                    item["message"] = message
                data_refs = [r.text.strip() for r in el.xpath(
                    "./bpmn:dataInputAssociation/bpmn:sourceRef | ./bpmn:dataOutputAssociation/bpmn:targetRef",
                    namespaces=NS) if r.text and r.text.strip()]
                if data_refs:
                    item["data_refs"] = data_refs
                elements[eid] = item
                if tag in ("subProcess", "transaction", "adHocSubProcess"):
                    walk(el, eid, lane)

    walk(process, None, None)
    # Data objects per container ("": the process itself), and what each reference points at.
    data_objects: dict = {}
    for obj in process.xpath(".//bpmn:dataObject", namespaces=NS):
        container = obj.getparent()
        key = "" if container is process else container.get("id")
        data_objects.setdefault(key, []).append(obj.get("id"))
    data_references = {r.get("id"): {"kind": _local(r), "name": r.get("name")} for r in root.xpath(
        ".//bpmn:dataObject | .//bpmn:dataInput | .//bpmn:dataOutput | .//bpmn:property", namespaces=NS)}
    data_references.update({r.get("id"): {"kind": "object", "ref": r.get("dataObjectRef")}
                            for r in root.xpath(".//bpmn:dataObjectReference", namespaces=NS)})
    data_references.update({r.get("id"): {"kind": "store", "ref": r.get("dataStoreRef")}
                            for r in root.xpath(".//bpmn:dataStoreReference", namespaces=NS)})
    for flow in flows.values():
        for end, key in ((flow["source"], "outgoing"), (flow["target"], "incoming")):
            if end in elements:
                elements[end].setdefault(key, []).append(flow["id"])
    start_forms = [e["form"] for e in elements.values()
                   if e["type"] == "startEvent" and e["parent"] is None and e.get("form")]
    return {
        "process_id": process.get("id"),
        "name": process.get("name"),
        "file": file_name,
        "executable": process.get("isExecutable", "false") == "true",
        "line": process.sourceline,
        "lanes": sorted(set(lanes.values())),
        "elements": elements,
        "flows": flows,
        "start_form": start_forms[0] if start_forms else [],
        "data_objects": data_objects,
        "data_references": data_references,
    }


def bpmn_models(root, file_name: str) -> list[dict]:
    """The index of every process in a BPMN document."""
    return [process_model(p, file_name) for p in root.xpath("./bpmn:process", namespaces=NS)]


FEEL_LANGUAGES = {"feel", "http://www.omg.org/spec/feel/20140401", "https://www.omg.org/spec/dmn/20191111/feel/",
                  "http://www.omg.org/spec/dmn/20180521/feel/", "https://www.omg.org/spec/dmn/20230324/feel/"}


def _dialect(*languages) -> str:
    """The expression language a DMN element is written in: the nearest one declared, else Python."""
    for language in languages:
        text = (language or "").strip()
        if text.lower() in FEEL_LANGUAGES:
            return "feel"
        if text:
            return text.lower() if text.lower() in ("python", "juel") else text
    return "python"


def _text(el, q) -> str | None:
    found = el.find("dmn:text", namespaces=q)
    return found.text if found is not None else None


def _listed_values(text: str | None) -> list[str] | None:
    """The items of an output values list (`"high","medium","low"`) as expression texts."""
    if not (text or "").strip():
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return [text.strip()]
    items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    return [ast.get_source_segment(text.strip(), e) or ast.unparse(e) for e in items]


def decision_table(table, decision, file_name: str, language: str | None) -> dict:
    """Plain data of one dmn:decisionTable: columns, rules and their cells, hit policy, aggregation."""
    q = {"dmn": etree.QName(table).namespace}
    language = table.get("expressionLanguage") or language
    inputs, outputs, rules = [], [], []
    for inp in table.xpath("./dmn:input", namespaces=q):
        expr = inp.find("dmn:inputExpression", namespaces=q)
        inputs.append({
            "id": inp.get("id"), "label": inp.get("label"), "line": inp.sourceline,
            "expression": (_text(expr, q) or "").strip() if expr is not None else "",
            "type_ref": expr.get("typeRef") if expr is not None else None,
            "dialect": _dialect(expr.get("expressionLanguage") if expr is not None else None, language),
        })
    for out in table.xpath("./dmn:output", namespaces=q):
        values = out.find("dmn:outputValues", namespaces=q)
        values_text = _text(values, q) if values is not None else None
        outputs.append({"id": out.get("id"), "label": out.get("label"), "name": out.get("name"),
                        "type_ref": out.get("typeRef"), "line": out.sourceline,
                        "values_text": values_text, "values": _listed_values(values_text)})
    for row, rule in enumerate(table.xpath("./dmn:rule", namespaces=q), start=1):
        description = rule.find("dmn:description", namespaces=q)
        # An entry is in its own expressionLanguage, else the table's (an inputExpression's is its own).
        cells = {kind: [{"text": _text(e, q), "line": e.sourceline, "id": e.get("id"),
                         "dialect": _dialect(e.get("expressionLanguage"), language)}
                        for e in rule.xpath(f"./dmn:{kind}", namespaces=q)] for kind in ("inputEntry", "outputEntry")}
        rules.append({"id": rule.get("id"), "row": row, "line": rule.sourceline,
                      "description": " ".join(description.text.split()) if description is not None
                      and description.text else None,
                      "inputs": cells["inputEntry"], "outputs": cells["outputEntry"]})
    return {"decision": decision.get("id"), "decision_name": decision.get("name"), "id": table.get("id"),
            "file": file_name, "line": table.sourceline,
            "hit_policy": " ".join((table.get("hitPolicy") or "UNIQUE").split()).upper(),
            "aggregation": (table.get("aggregation") or "").strip().upper() or None,
            "inputs": inputs, "outputs": outputs, "rules": rules}


def dmn_decisions(root, file_name: str) -> list[dict]:
    """Each decision in a DMN document, with its decision table as plain data (engine/bpmn/dmn/evaluate.py runs it)."""
    ns = etree.QName(root).namespace
    q = {"dmn": ns}
    decisions = []
    for d in root.xpath("./dmn:decision", namespaces=q):
        tables = d.xpath("./dmn:decisionTable", namespaces=q)
        decisions.append({
            "id": d.get("id"),
            "name": d.get("name"),
            "file": file_name,
            "line": d.sourceline,
            "has_table": bool(tables),
            "tables": len(tables),
            "requires": list(dict.fromkeys(r.get("href") or "" for r in d.xpath(
                "./dmn:informationRequirement/dmn:requiredDecision", namespaces=q))),
            "table": decision_table(tables[0], d, file_name, root.get("expressionLanguage")) if tables else None,
        })
    return decisions
