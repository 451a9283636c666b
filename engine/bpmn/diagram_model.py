"""Read a BPMN/DMN document into plain data: lanes and roles, forms, stages, gates, flows.

This index is what the inbox, the forms and the audit use; it is stored with each version
so nothing outside the engine needs SpiffWorkflow objects to know what a task asks for.
"""
from __future__ import annotations

import re

from lxml import etree

from engine.bpmn import call_io, io_mapping, quartz, who_works

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
#: Where engine/juel_xml.py keeps the JUEL an element held before it was translated into Python.
JUEL_WRITTEN = "{urn:stagegate:juel}written"

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
    """Camunda Modeler writes timers as bare ISO text (P3D) or Quartz cron; our engine evaluates them
    as Python, so a bare ISO value, or a cycle that is well-formed cron, is turned into a string
    literal before parsing (cron that is not well-formed stays, for the deploy to say why)."""
    for el in root.iter(f"{{{BPMN_NS}}}timeDuration", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeCycle"):
        text = (el.text or "").strip()
        if ISO_TIMER.match(text) or (etree.QName(el).localname == "timeCycle" and _is_cron(text)):
            el.text = repr(text)


def _is_cron(text: str) -> bool:
    try:
        quartz.parse(text)
    except quartz.CronError:
        return False
    return True


def detach_start_timers(root) -> None:
    """Take the timers off the processes' own start events before SpiffWorkflow reads the document:
    the worker starts those deals when the schedule says (engine/services/start_timers.py), and a
    deal, however started, then runs on at once rather than waiting at its start event."""
    for definition in root.xpath("./bpmn:process/bpmn:startEvent/bpmn:timerEventDefinition", namespaces=NS):
        definition.getparent().remove(definition)


def external_topic(el) -> str | None:
    """The topic a worker fetches a service or send task by: camunda:topic of an external task, else the
    Java delegate it names (camunda:class, camunda:delegateExpression or camunda:expression, as written)."""
    if el.get(f"{{{CAMUNDA_NS}}}type") == "external":
        return (el.get(f"{{{CAMUNDA_NS}}}topic") or "").strip() or None
    for attr in ("class", "delegateExpression", "expression"):
        value = (el.get(f"{{{CAMUNDA_NS}}}{attr}") or "").strip()
        if value:
            return value
    return None


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


# How Camunda lets a service task call Java (or a JUEL expression calling a bean).
JAVA_ATTRIBUTES = ("class", "delegateExpression", "expression")
ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee")


def _names(text: str | None) -> list[str]:
    """A comma-separated camunda: list ("Accounting, Sales") as its names, blanks dropped."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _assignment(el) -> dict:
    """The attributes that say who works a user task, as written (for deploy's checks; the Activiti
    namespace is read as camunda:, engine/bpmn/camunda_compat.py)."""
    return {a: el.get(f"{{{CAMUNDA_NS}}}{a}") for a in ASSIGNMENT_ATTRIBUTES if el.get(f"{{{CAMUNDA_NS}}}{a}") is not None}


def _unrun_extensions(el) -> list[str]:
    """Camunda extensions of an element that would run code the engine does not run: listeners, and
    scripts in other languages than Python (in input/output parameters), each as a phrase."""
    out = []
    for listener in el.xpath("./bpmn:extensionElements/camunda:taskListener | "
                             "./bpmn:extensionElements/camunda:executionListener", namespaces=NS):
        script = listener.find(f"{{{CAMUNDA_NS}}}script")
        how = next((f"camunda:{a} `{listener.get(a)}`" for a in JAVA_ATTRIBUTES if listener.get(a)), None) \
            or (f"a {script.get('scriptFormat') or 'script'} script" if script is not None else "nothing")
        out.append(f"camunda:{_local(listener)} on {listener.get('event') or 'its event'} ({how})")
    for script in el.xpath("./bpmn:extensionElements/camunda:inputOutput//camunda:script", namespaces=NS):
        if (script.get("scriptFormat") or "").strip().lower() != "python":
            out.append(f"a {script.get('scriptFormat') or 'script'} script in "
                       f"camunda:{_local(script.getparent())} '{script.getparent().get('name')}'")
    return out


def _execution_listeners(el) -> list[str]:
    """How each execution listener of an element is written (the engine runs none; deploy refuses them)."""
    found = []
    for ns in (CAMUNDA_NS, ACTIVITI_NS):
        for listener in el.xpath("./bpmn:extensionElements/x:executionListener", namespaces={**NS, "x": ns}):
            how = next((f"{a} `{listener.get(a)}`" for a in ("class", "expression", "delegateExpression")
                        if listener.get(a)), "a script")
            found.append(f"on '{listener.get('event') or 'start'}' by {how}")
    return found


def _who_works(el, lane: str | None) -> dict:
    """A user task's roles, candidate users, assignee and the expressions deciding them when it opens.

    A lane grants its role only to a task that names no candidate groups, users or assignee."""
    who = who_works.read(el, BPMN_NS, CAMUNDA_NS)
    named = who_works.names_someone(who)
    roles = [role_key(g) for g in (who["groups"] if named else [lane] if lane else [])]
    return {"roles": list(dict.fromkeys(r for r in roles if r)), "assignment": _assignment(el),
            "candidate_users": list(dict.fromkeys(who["users"])),
            "assignee": who["assignee"][0] if who["assignee"] else None,
            "assignment_expressions": {k: v for k, v in who["expressions"].items() if v},
            "due_date": who["due"][0] if who["due"] else None,
            "follow_up_date": who["follow_up"][0] if who["follow_up"] else None, "listeners": who["listeners"],
            "assignment_problems": who["problems"]}


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
                    **({"juel": cond.get(JUEL_WRITTEN)} if cond is not None and cond.get(JUEL_WRITTEN) else {}),
                    "properties": _properties(el),
                    "line": el.sourceline,
                    **({"unrun": _unrun_extensions(el)} if _unrun_extensions(el) else {}),
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
                    item.update(_who_works(el, lane))
                    item["priority"] = el.get(f"{{{CAMUNDA_NS}}}priority")  # Camunda's: higher first, 50 unset
                if tag == "startEvent" and el.get(f"{{{CAMUNDA_NS}}}initiator"):
                    item["initiator"] = el.get(f"{{{CAMUNDA_NS}}}initiator").strip()
                if tag == "businessRuleTask":
                    item["decision_ref"] = el.get(f"{{{CAMUNDA_NS}}}decisionRef")
                    item["result_variable"] = el.get(f"{{{CAMUNDA_NS}}}resultVariable")
                    item["map_decision_result"] = el.get(f"{{{CAMUNDA_NS}}}mapDecisionResult")
                if tag in ("serviceTask", "sendTask"):
                    item["topic"] = external_topic(el)
                    item["priority"] = el.get(f"{{{CAMUNDA_NS}}}taskPriority")
                if tag == "callActivity":
                    item["called_element"] = el.get("calledElement")
                    item["mapping_problems"] = call_io.problems(el)
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
                    item["script_format"] = el.get("scriptFormat")
                timer = el.xpath("./bpmn:timerEventDefinition/*", namespaces=NS)
                if timer:
                    item["timer"] = {"kind": _local(timer[0]), "expression": (timer[0].text or "").strip()}
                    if timer[0].get(JUEL_WRITTEN):
                        item["timer"]["written"] = timer[0].get(JUEL_WRITTEN)
                item["execution_listeners"] = _execution_listeners(el)
                io, io_problems = io_mapping.read(el)
                if io["inputs"] or io["outputs"] or io_problems:
                    item["io"], item["io_problems"] = io, io_problems
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
        "description": _documentation(process),
        # Camunda's tasklist flag: "false" says people do not start it (another process or a message does).
        "startable": process.get(f"{{{CAMUNDA_NS}}}isStartableInTasklist", "true").strip() != "false",
        "unrun": _unrun_extensions(process),
        "line": process.sourceline,
        "lanes": sorted(set(lanes.values())),
        "elements": elements,
        "flows": flows,
        "start_form": start_forms[0] if start_forms else [],
        "data_objects": data_objects,
        "data_references": data_references,
    }


def _documentation(process) -> str | None:
    """The process's own bpmn:documentation text, whitespace tidied (None when it has none)."""
    doc = process.find(f"{{{BPMN_NS}}}documentation")
    text = " ".join((doc.text or "").split()) if doc is not None else ""
    return text[:2000] or None


def bpmn_models(root, file_name: str) -> list[dict]:
    """The index of every process in a BPMN document."""
    return [process_model(p, file_name) for p in root.xpath("./bpmn:process", namespaces=NS)]
