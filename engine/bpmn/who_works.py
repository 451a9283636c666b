"""Who works a user task, as a Camunda 7 model says it: read at deploy, decided when the task opens.

The model names candidate groups, candidate users and an assignee by camunda:candidateGroups,
camunda:candidateUsers and camunda:assignee (names, or JUEL such as `${approverGroups}`), or by
BPMN's own potentialOwner (`group(x)`, `user(x)`, a bare name is a group) and humanPerformer
(the assignee). A lane grants its role only to a task that names none of these. Expressions are
translated into checked Python at deploy and evaluated on the task's data when it opens, as are
camunda:dueDate and camunda:followUpDate (ISO text, a duration from when it opens, or JUEL).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn import juel, task_listeners
from engine.clock import current_now

_PERFORMERS = ("potentialOwner", "humanPerformer")
_TAGGED = re.compile(r"^(user|group)\((.*)\)$", re.S)


def _item(text: str, found: dict, kind: str, problems: list, where: str) -> None:
    """Add one written name or expression to the static names or the expressions of `kind`."""
    if juel.is_juel(text):
        try:
            found["expressions"][kind].append(juel.translate(text))
        except juel.JuelError as exc:
            problems.append(f"{where} `{text}`: JUEL the engine cannot run: {exc}")
    else:
        found[kind].append(text)


def read(el, bpmn_ns: str, camunda_ns: str) -> dict:
    """The plain data of who works the user task `el` (an lxml element), with the problems found."""
    found = {"groups": [], "users": [], "assignee": [], "due": [], "follow_up": [], "problems": [],
             "expressions": {"groups": [], "users": [], "assignee": [], "due": [], "follow_up": []}}
    problems = found["problems"]
    for attr, kind in (("candidateGroups", "groups"), ("candidateUsers", "users"), ("assignee", "assignee")):
        text = el.get(f"{{{camunda_ns}}}{attr}")
        items = juel.names(text) if text and kind != "assignee" else [text.strip()] if text and text.strip() else []
        for item in items:
            _item(item, found, kind, problems, f"camunda:{attr}")
    for tag in _PERFORMERS:
        for expr in el.findall(f"{{{bpmn_ns}}}{tag}/{{{bpmn_ns}}}resourceAssignmentExpression/{{{bpmn_ns}}}formalExpression"):
            items = juel.names(expr.text or "")
            if tag == "humanPerformer":
                items = [_TAGGED.sub(r"\2", i).strip() for i in items]
                if len(items) > 1:
                    problems.append(f"humanPerformer names {len(items)} people ({', '.join(items)}); a task has one "
                                    "assignee: name one, or use potentialOwner for candidates")
                for item in items[:1]:
                    _item(item, found, "assignee", problems, "humanPerformer")
                continue
            for item in items:
                m = _TAGGED.match(item)
                kind = "users" if m and m.group(1) == "user" else "groups"
                _item(m.group(2).strip() if m else item, found, kind, problems, "potentialOwner")
    for attr, kind in (("dueDate", "due"), ("followUpDate", "follow_up")):
        text = (el.get(f"{{{camunda_ns}}}{attr}") or "").strip()
        if text:
            _item(text, found, kind, problems, f"camunda:{attr}")
            try:
                for written in found[kind]:
                    _instant(written, f"camunda:{attr}")
            except ValueError as exc:
                problems.append(str(exc))
    found["listeners"], refused = task_listeners.read(el, camunda_ns, bpmn_ns)
    problems += refused
    if len(found["assignee"]) + len(found["expressions"]["assignee"]) > 1:
        problems.append("the task names more than one assignee (camunda:assignee and humanPerformer); keep one")
    return found


def names_someone(who: dict) -> bool:
    """True if the task names candidate groups, candidate users or an assignee itself (then no lane grants it)."""
    return any(who[k] or who["expressions"][k] for k in ("groups", "users", "assignee"))


def _listed(value) -> list[str]:
    """An evaluated group/user expression as names: a list, or a comma-separated text (as Camunda takes both)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [n.strip() for n in str(value).split(",") if n.strip()]


def resolve(element: dict, data: dict, evaluate, role_key) -> dict:
    """Who works the task `element` now, on the task's `data`: roles (case-folded), candidate users and assignee.

    `evaluate(source, data)` is the sandboxed evaluation; what an expression raises propagates."""
    exprs = element.get("assignment_expressions") or {}
    roles = list(element.get("roles", []))
    users = list(element.get("candidate_users", []))
    for source in exprs.get("groups", []):
        roles += [role_key(n) for n in _listed(evaluate(source, data)) if role_key(n)]
    for source in exprs.get("users", []):
        users += _listed(evaluate(source, data))
    assignee = element.get("assignee")
    for source in exprs.get("assignee", []):
        value = _listed(evaluate(source, data))
        assignee = value[0] if value else None
    listeners = element.get("listeners") or {}
    if listeners.get("create"):
        assignee = task_listeners.run(listeners["create"], data, assignee)
    if assignee and listeners.get("assignment"):
        assignee = task_listeners.run(listeners["assignment"], data, assignee)
    if assignee and assignee not in users:
        users.append(assignee)  # the assignee works it, whatever groups it names (as in Camunda)
    dates = {}
    for kind, attr in (("due", "dueDate"), ("follow_up", "followUpDate")):
        when = element.get(f"{kind}_date")
        for source in exprs.get(kind, []):
            when = evaluate(source, data)
        dates[kind] = _instant(when, f"camunda:{attr}") if when else None
    return {"roles": list(dict.fromkeys(roles)), "candidate_users": list(dict.fromkeys(users)), "assignee": assignee,
            **dates}


def _instant(value, attr: str = "camunda:dueDate") -> str:
    """A due or follow-up date as ISO text (naive means UTC), or ValueError saying it is none. A duration
    (`PT2H`) counts from now, the step's clock, as Camunda's due-date calendar reads it."""
    text = str(value).strip()
    try:
        if text[:1] in ("P", "p"):
            now = current_now()
            return (now + TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(text), now)).isoformat()
        when = datetime.fromisoformat(text)
    except Exception:  # noqa: BLE001 - SpiffWorkflow's duration parser raises a bare Exception
        raise ValueError(f"{attr} is `{value}`, which is not a date and time (ISO 8601, such as "
                         "2027-01-31T17:00:00Z, or ${dateTime().plusDays(2).toDate()}) nor a duration "
                         "(such as PT2H or P3D)") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).isoformat()


def on_completion(element: dict, data: dict, actor: str) -> None:
    """The task's assignment listeners, as Camunda runs them when the person who completes it took it."""
    steps = (element.get("listeners") or {}).get("assignment")
    if steps:
        task_listeners.run(steps, data, actor)
