"""What goes wrong in a step, said plainly: the element, the data it had, and which bound it hit."""
from __future__ import annotations


from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.sandbox.limits import limit_of
from engine.bpmn import timekeeping  # noqa: F401 - SpiffWorkflow's timers read the step's clock


def describe(exc: BaseException) -> str:
    """One line saying what went wrong: the library's message, its cause and its hints."""
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    inner = exc.__cause__ or exc.__context__
    if inner is not None and str(inner) and str(inner) not in message:
        message += f": {inner}"
    for note in getattr(exc, "__notes__", []):
        if note not in message:
            message += f" ({note})"
    return message


class EngineFailure(Exception):
    """A step could not be taken; carries where, the data the element saw, and the sandbox limit
    that stopped it (if one did: memory, cpu, wall, size, steps)."""

    def __init__(self, message: str, element_id: str | None, element_name: str | None, data: dict,
                 limit: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.element_name = element_name
        self.data = data
        self.limit = limit


# What the code at an element is, for a message saying the sandbox stopped it.
_CODE_AT = {"scriptTask": "the script", "businessRuleTask": "the decision table", "exclusiveGateway": "a condition",
            "inclusiveGateway": "a condition", "boundaryEvent": "the timer expression",
            "intermediateCatchEvent": "the timer expression", "userTask": "an expression",
            "startEvent": "an expression"}


def failure(exc: BaseException, el: dict, data: dict) -> EngineFailure:
    """The EngineFailure for what the engine raised at element `el`."""
    hit = limit_of(exc)
    if hit is not None:
        what = _CODE_AT.get(el.get("type"), "the diagram's code")
        return EngineFailure(f"{what} was stopped: {hit.message}", el.get("id"), el.get("name"), data, hit.limit)
    message = describe(exc) if isinstance(exc, SpiffWorkflowException) else f"{type(exc).__name__}: {exc}"
    return EngineFailure(message, el.get("id"), el.get("name"), data)
