"""Designer warnings: things the engine would run but that are almost certainly mistakes.

Deploy refuses what the engine cannot run (validation.py); these rules flag what it can run
but nobody could work or reach: a lane (or candidate groups) no user holds as a role, a gate
that records no stage, an element no path leads to, an escalation that would never close.
"""
from __future__ import annotations

from engine.bpmn.diagram_model import role_key
from engine.errors import Problem

CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}


def _warn(model: dict, el: dict, reason: str) -> Problem:
    name = " ".join(el["name"].split()) if el.get("name") else None
    return Problem(model["file"], reason, el.get("id"), name, el.get("line"))


def lint_design(model: dict, known_roles: set[str], known_users: set[str] | None = None) -> list[Problem]:
    """Warnings for one process model, each on the element that has it (`known_users`: the active users'
    names, to check the names a task gives as assignee or candidate users)."""
    problems = []
    for el in model["elements"].values():
        if known_users is not None and el["type"] == "userTask":
            problems += [_warn(model, el, reason) for reason in _unknown_people(el, known_users)]
        lane = el.get("lane")
        known = f"(known roles: {', '.join(sorted(known_roles)) or 'none'})"
        lane_grants = bool(lane) and role_key(lane) in el.get("roles", [])
        if el["type"] == "userTask" and lane and not lane_grants:
            problems.append(_warn(model, el, f"user task is in lane '{lane}' but names who works it ({_named(el)}), "
                                  "so the lane grants it nothing: only those may work it"))
        if el["type"] == "userTask" and lane_grants and role_key(lane) not in known_roles:
            problems.append(_warn(model, el, f"user task is in lane '{lane}', which is no role any user holds {known}"))
        elif (el["type"] == "userTask" and not lane_grants and el.get("roles") and not el.get("candidate_users")
              and not el.get("assignment_expressions") and not set(el["roles"]) & known_roles):
            problems.append(_warn(model, el, f"user task's candidate groups ({', '.join(el['roles'])}) are no role "
                                  f"any user holds {known}"))
        props = el.get("properties") or {}
        timer = _escalating_timer(model, el)
        if timer is not None and not props.get("escalates"):
            chased = model["elements"].get(timer.get("attached_to"), {})
            problems.append(_warn(model, el, f"user task follows the non-interrupting timer on "
                                  f"'{chased.get('name') or timer.get('attached_to')}', so it stays open after that "
                                  f"task is done; add the property escalates={timer.get('attached_to')} to close it "
                                  "when that task ends"))
        if "gateway" in el["type"].lower() and props.get("gate") and not props.get("stage"):
            problems.append(_warn(model, el, f"gate '{props['gate']}' has no stage property, so its decisions "
                                  "are recorded without a stage"))
    for eid in sorted(unreachable(model)):
        el = model["elements"][eid]
        problems.append(_warn(model, el, "no path from a start event leads to this element, so it never runs"))
    return problems


def _unknown_people(el: dict, known_users: set[str]) -> list[str]:
    """The names a user task gives as its assignee or candidate users that are no active user."""
    out = []
    if el.get("assignee") and el["assignee"] not in known_users:
        out.append(f"user task is assigned to '{el['assignee']}', who is no active user: it would open unclaimed, "
                   "for its candidates only")
    unknown = [u for u in el.get("candidate_users") or [] if u not in known_users and u != el.get("assignee")]
    if unknown:
        out.append(f"user task's candidate users {', '.join(unknown)} are no active users")
    return out


def _named(el: dict) -> str:
    """Who a user task names to work it, as the designer says it."""
    written = {k: v for k, v in (el.get("assignment") or {}).items() if not k.startswith("activiti:")}
    parts = [f"camunda:{k} {v}" for k, v in written.items()]
    return ", ".join(parts) or "potentialOwner / humanPerformer"


def _escalating_timer(model: dict, el: dict) -> dict | None:
    """The non-interrupting boundary timer whose flow leads straight to user task `el`, if any."""
    if el["type"] != "userTask":
        return None
    for fid in el.get("incoming", []):
        source = model["elements"].get(model["flows"].get(fid, {}).get("source"), {})
        if source.get("type") == "boundaryEvent" and not source.get("cancel_activity", True) and \
                "timerEventDefinition" in source.get("event_definitions", []):
            return source
    return None


def unreachable(model: dict) -> set[str]:
    """Ids of flow nodes no start event, boundary event or event sub-process leads to."""
    elements, flows = model["elements"], model["flows"]
    children: dict = {}
    for el in elements.values():
        children.setdefault(el.get("parent"), []).append(el)
    boundary: dict = {}
    for el in elements.values():
        if el["type"] == "boundaryEvent":
            boundary.setdefault(el.get("attached_to"), []).append(el["id"])

    def entries(parent) -> list[str]:
        out = []
        for el in children.get(parent, []):
            if el["type"] == "startEvent" or (el["type"] == "intermediateCatchEvent"
                                              and "linkEventDefinition" in el.get("event_definitions", [])):
                out.append(el["id"])
            elif el["type"] in CONTAINERS and not el.get("incoming"):
                # An event sub-process starts from its own event, not from a flow.
                starts = [c for c in children.get(el["id"], []) if c["type"] == "startEvent"]
                if starts and all(c.get("event_definitions") for c in starts):
                    out.append(el["id"])
        return out

    seen: set[str] = set()
    todo = entries(None)
    while todo:
        eid = todo.pop()
        if eid in seen or eid not in elements:
            continue
        seen.add(eid)
        el = elements[eid]
        todo.extend(flows[f]["target"] for f in el.get("outgoing", []) if f in flows)
        todo.extend(boundary.get(eid, []))
        if el["type"] in CONTAINERS:
            todo.extend(entries(eid))
    return set(elements) - seen
