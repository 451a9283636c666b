"""What a diagram reads that nothing in it sets: deploy warns, as Camunda would fail at run time.

A condition reading a name that no form, decision, script, service task or called process sets
before it can only work if the name comes with the start: sent as a variable to a start event
without a form (engine/services/variables.py). Deploy says so as a warning, on the flow. A decision table
reading such a name is refused (engine/bpmn/dmn/checks.py), unless the process takes variables
at its start: then it too is a warning, on the table.
"""
from __future__ import annotations

from engine.bpmn.data_fields import fields_before
from engine.errors import Problem
from engine.sandbox import SandboxError, names_read

SENT_AT_START = ("unless it is sent as a variable when the deal starts or a task without a form is completed "
                 "(API data, or `stagegate start/complete --var`), {what} fails there")


def accepts_variables(model: dict) -> bool:
    """Whether a deal of this process can start with variables of the caller's choosing (no start form)."""
    starts = [e for e in model["elements"].values() if e["type"] == "startEvent" and e.get("parent") is None]
    return bool(starts) and not any(e.get("form") for e in starts)


def condition_warnings(models: dict, model: dict, tables: dict, helpers: set[str]) -> list[Problem]:
    """A warning on each flow whose condition reads a name the process cannot have set there."""
    out = []
    for flow in model["flows"].values():
        cond = flow.get("condition")
        if not cond or flow.get("source") not in model["elements"]:
            continue
        try:
            read = names_read(cond)
        except SandboxError:
            continue  # refused as not compiling (validation.py)
        before = fields_before(models, model["process_id"], flow["source"], tables)
        if before is None:
            continue  # an external task upstream: its worker may set any variable the condition reads
        known = before | helpers
        missing = [n for n in read if n not in known]
        if missing:
            names = ", ".join(f"`{n}`" for n in missing)
            written = flow.get("juel") or cond  # as the modeller wrote it, not its translation
            out.append(Problem(model["file"], f"condition `{written}` reads {names}, which nothing in the process sets "
                               "before this flow (no form, decision, script, service task or called process); "
                               + SENT_AT_START.format(what="the condition"),
                               flow["id"], " ".join(flow["name"].split()) if flow.get("name") else None,
                               flow.get("line")))
    return out
