"""Expected errors: each carries a message meant for the user, never a traceback."""
from __future__ import annotations

from dataclasses import dataclass, field


class StagegateError(Exception):
    """Base class of every error a user may be shown."""


class AuditKeyError(StagegateError):
    """The audit key is missing, unreadable, or not the one the chain was signed with."""


class NotFound(StagegateError):
    """The thing asked for does not exist."""


class Refused(StagegateError):
    """The actor may not do this now (role, state, separation of duties)."""


class Conflict(Refused):
    """The stored state moved on since the caller looked (stale task, lost race)."""


class KeyReused(StagegateError):
    """An idempotency key came back with a different request than the one it first came with."""


@dataclass
class Problem:
    """One problem with a diagram, located as precisely as we can."""

    file: str
    reason: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    cell: dict | None = None  # a decision table cell: {"rule", "row", "column", "kind"}, for the designer to mark

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}"
        if self.element_id or self.element_name:
            label = self.element_id or ""
            if self.element_name:
                label += f" ({self.element_name})" if label else self.element_name
            where += f": element {label}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "line": self.line,
            "reason": self.reason,
            "cell": self.cell,
        }


class InvalidDiagram(StagegateError):
    """A deployment was refused as a whole; `problems` says what and where."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class FormInvalid(StagegateError):
    """Submitted data does not pass the form; `errors` maps field id to message."""

    errors: dict[str, str] = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


class StepFailed(StagegateError):
    """The engine could not advance; the step was rolled back and an incident recorded."""

    def __init__(self, message: str, element_id: str | None, element_name: str | None, incident_id: int | None = None,
                 limit: str | None = None):
        self.element_id = element_id
        self.element_name = element_name
        self.incident_id = incident_id
        self.limit = limit  # the sandbox bound that stopped the step, if one did
        where = element_id or "?"
        if element_name:
            where += f" ({element_name})"
        super().__init__(f"step failed at {where}: {message}")
        self.reason = message


class JobStopped(StagegateError):
    """A background job (a what-if replay) did not finish: the sandbox stopped it, or it failed."""

    def __init__(self, message: str, limit: str | None = None):
        super().__init__(message)
        self.limit = limit  # the sandbox bound that stopped it, if one did
