"""A deal's data as labelled, readable rows under the step that produced each, and the sign-offs
and gate a gatekeeper decides on (engine/queries/deal_steps.py gathers them; this words them)."""
from __future__ import annotations

from . import conditions
from .formatting import label, role, value


def _row(r: dict, fields_by_id: dict, files: dict | None = None) -> dict:
    field = r.get("field") or fields_by_id.get(r["id"])
    row = {"key": r["id"], "label": (field or {}).get("label") or label(r["id"]), "value": value(r["value"], field)}
    if (field or {}).get("type") == "file" and isinstance(r["value"], int):
        a = (files or {}).get(r["value"])
        row.update(value=a["file_name"] if a else f"attachment {r['value']}", attachment_id=r["value"])
    return row


def _title(step: dict) -> str:
    if step["kind"] == "other":
        return "Other data"
    return step["name"] + (f" · {role(step['role'])}" if step.get("role") else "")


def by_step(deal: dict, attachments: list[dict] = ()) -> list[dict]:
    """[{title, actor, at, rows}]: each step's data in its form's order, oldest first (a file field's
    value named by its attachment)."""
    by_id, files = deal.get("fields") or {}, {a["id"]: a for a in attachments}
    return [{"title": _title(s), "actor": s["actor"], "at": s["at"], "kind": s["kind"],
             "rows": [_row(r, by_id, files) for r in s["rows"]]} for s in deal.get("steps") or []]


def submitted(step: dict | None, deal: dict, attachments: list[dict] = ()) -> list[dict]:
    """What a completed task submitted, as rows in its form's order."""
    files = {a["id"]: a for a in attachments}
    return [_row(r, deal.get("fields") or {}, files) for r in (step or {}).get("rows", [])]


def sign_offs(deal: dict) -> list[dict]:
    """Each sign-off by department: who, when, approved, the figures approved, the comment."""
    by_id = deal.get("fields") or {}
    waiting = [t for t in deal.get("ready_tasks") or [] if t.get("sign_off")]
    done = [{**s, "department": role(s["role"]), "figures": [_row(r, by_id) for r in s["figures"]],
             "answers": [_row(r, by_id) for r in s["answers"]],
             "comment": " / ".join(str(c["value"]) for c in s["comments"])} for s in deal.get("sign_offs") or []]
    return done + [{"task": t["name"], "department": role(t.get("role")), "waiting": True} for t in waiting]


def gate(task: dict, deal: dict) -> dict | None:
    """The gate the task feeds, its criteria and each way out in plain language."""
    g = task.get("gate")
    if not g:
        return None
    by_id = deal.get("fields") or {}
    routes = [{"name": r["name"] or "—",
               "when": conditions.describe(r["condition"], by_id) or r["condition"] or "otherwise"}
              for r in g["routes"]]
    return {**g, "routes": routes, "gatekeeper": role(g["gatekeeper"]) if g.get("gatekeeper") not in (None, "rule")
            else "the decision table"}


def named_tasks(attachments: list[dict], deal: dict) -> list[dict]:
    """The deal's attachments, each with the name of the task it was attached to (if any)."""
    names = {t["id"]: t["name"] for t in deal.get("ready_tasks") or []}
    names.update({s["task_id"]: s["name"] for s in deal.get("steps") or [] if s.get("task_id")})
    return [{**a, "task_name": names.get(a["task_id"])} for a in attachments]
