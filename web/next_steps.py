"""What happens after a completed task, said in words: who works the deal now, or how it ended."""
from __future__ import annotations

from .formatting import role as role_name


def listed(words: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' (each once)."""
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _shared_verb(names: list[str]) -> str | None:
    """The first two words all the task names share ("Sign off"), said as a verb, if they share them."""
    heads = {" ".join((n or "").split()[:2]) for n in names}
    return heads.pop().lower() if len(heads) == 1 and len(names) > 1 and " " in next(iter(heads)) else None


def _tasks(tasks: list[dict], mine: set[str]) -> str:
    """'Finance, Supply and Quality now sign off', or 'Next: Prepare proposal (Sales, that is you)'."""
    verb = _shared_verb([t["name"] for t in tasks])
    if verb:
        return f"{listed([role_name(t['role']) for t in tasks])} now {verb}."
    return "Next: " + listed([f"{t['name']} ({role_name(t['role'])}{', that is you' if t['role'] in mine else ''})"
                               for t in tasks]) + "."


def _waits(waiting: list[dict]) -> str:
    said = []
    for w in waiting:
        if w["kind"] == "message":
            said.append(f"the message \u201c{w['name']}\u201d")
        elif w["kind"] == "timer":
            said.append(f"the timer \u201c{w['name']}\u201d")
        else:
            said.append(f"an outside system to do \u201c{w['name']}\u201d")
    return f"Waiting for {listed(said)}."


def what_next(result: dict, my_roles: set[str]) -> tuple[str, str]:
    """(sentence, flash category) for the deal after a step, from complete_task's plain result."""
    if result["status"] == "completed":
        outcome = result["outcome"]
        if outcome["kind"] == "won":
            return "The deal is won.", "success"
        return f"The deal is closed: {outcome['text']}.", "info"
    if result.get("opened"):
        return _tasks(result["opened"], my_roles), "info"
    if result.get("still_open"):
        return "Still waiting for " + listed([f"{role_name(t['role'])} ({t['name']})" for t in result["still_open"]]) \
            + ".", "info"
    if result.get("waiting"):
        return _waits(result["waiting"]), "info"
    return "Nothing waits for you here.", "info"
