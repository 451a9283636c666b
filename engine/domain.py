"""The plug-in a business domain gives the engine: the engine knows gates, stops and service
tasks, the domain says which words, handlers and observers they are. The composition root
installs one domain per process (stagegate/compose.py installs the sales domain, workflows/)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """What one step did to an instance, as a step observer sees it (inside the step's transaction)."""

    instance: object  # the Instance row, already moved on (stage, status, data)
    previous_stage: str | None
    entered: list[str | None]  # the stages the step entered, in order: its gate decisions', its new tasks'
    now: datetime
    ending: dict | None  # how the instance ended (engine/outcomes.py), when this step ended it
    opened: tuple = ()  # the HumanTask rows the step opened, in order
    gate_decisions: tuple = ()  # the gates the step decided (the runner's log entries), in order
    model: dict | None = None  # the process version's model (engine/bpmn/definitions.py reads it)
    starting: bool = False  # the deal's first step: none of its rows but the deal's own are stored yet


@dataclass(frozen=True)
class Domain:
    """What the engine takes from a domain; an empty one runs diagrams without domain words."""

    # The words a gate decides (a flow's `outcome` property or the first word of its name).
    gate_outcomes: tuple[str, ...] = ()
    # The gate outcome that stops an instance: it ends "killed" at that gate.
    stop_outcome: str | None = None
    # camunda:topic -> handler(data copy) -> the values it adds; and the fields each adds (deploy checks).
    service_tasks: Mapping[str, Callable[[dict], dict]] = field(default_factory=dict)
    service_outputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Functions diagram code may call (top-level functions: the sandbox's workers import them by name),
    # and the names of those cheap enough to call in-process for any small arguments.
    helpers: Mapping[str, Callable] = field(default_factory=dict)
    bounded_helpers: tuple[str, ...] = ()
    # Departments whose head role is not "<department> head": department -> its head role.
    department_heads: Mapping[str, str] = field(default_factory=dict)
    # Called with (session, Step) at the end of every step, in the step's transaction.
    step_observers: tuple[Callable, ...] = ()
    # preview(sg, dmn_content, file_name) -> (result, summary line): what a changed decision table
    # would have decided over the recorded decisions; None: the designer shows no preview.
    decision_preview: Callable | None = None
    # The deal data fields the inbox shows, searches (customer) and sorts (value) by; None: it has none.
    customer_field: str | None = None
    value_field: str | None = None
    # The .bpmn file a designer's new process starts from (the domain's lanes); None: no template.
    new_process_template: Path | None = None


_installed = Domain()


def install(domain: Domain) -> None:
    """Make `domain` the one the engine runs with in this process (the composition root does)."""
    global _installed
    _installed = domain


def current() -> Domain:
    """The domain installed in this process."""
    return _installed
