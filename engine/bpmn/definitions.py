"""Which process definition an element belongs to: the deal's own process, or one it calls.

A version's model carries, under "called_processes", the models of every process its call
activities reach (as deployed with it), so a task of a called process takes its roles, form,
stage, timers and name from its own process, never from the caller's element of the same id.
"""
from __future__ import annotations

CALLED = "called_processes"
_NOTHING: dict = {"elements": {}, "flows": {}}


def calls(model: dict) -> set[str]:
    """Ids of the processes `model`'s call activities name directly."""
    return {el["called_element"] for el in model["elements"].values()
            if el["type"] == "callActivity" and el.get("called_element")}


def with_called(model: dict, models: dict[str, dict]) -> dict:
    """`model` with the models of every process it reaches through call activities (`models`: by id)."""
    called, todo = {}, sorted(calls(model))
    while todo:
        pid = todo.pop()
        if pid in called or pid == model["process_id"] or pid not in models:
            continue
        called[pid] = {k: v for k, v in models[pid].items() if k != CALLED}
        todo.extend(sorted(calls(called[pid])))
    return {**model, CALLED: called}


def definition(model: dict, called_process: str | None) -> dict:
    """The model of the process that defines elements of `called_process` (None: the deal's own)."""
    if called_process is None:
        return model
    return model.get(CALLED, {}).get(called_process, _NOTHING)


def element(model: dict, called_process: str | None, element_id: str | None) -> dict:
    """An element as its own process defines it, or {}."""
    return definition(model, called_process)["elements"].get(element_id or "", {})


def every_definition(model: dict) -> list[dict]:
    """The deal's own process model and the models of the processes it calls."""
    return [model, *model.get(CALLED, {}).values()]


def entries(model: dict, called_process: str) -> list[str]:
    """The call activities of the deal's own process through which `called_process` is reached."""
    called = model.get(CALLED, {})

    def reaches(pid: str, seen: frozenset) -> bool:
        return pid == called_process or any(
            reaches(c, seen | {pid}) for c in calls(called.get(pid, _NOTHING)) if c not in seen)

    return sorted(el["id"] for el in model["elements"].values()
                  if el["type"] == "callActivity" and reaches(el.get("called_element") or "", frozenset()))


def owner_of(model: dict, element_id: str) -> dict | None:
    """The model (the deal's own first, then the called ones) that has an element with this id."""
    return next((m for m in every_definition(model) if element_id in m["elements"]), None)
