"""Messages from outside: which message catchers a workflow waits at, and handing one a message.

A message start event, a receive task, an intermediate message catch event (also behind an
event-based gateway) and a message boundary event all wait in SpiffWorkflow's event manager;
a delivered message sets its variables on the catching task, which then runs on the next
advance. Correlation (which deal) is decided by the service before it gets here.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.message_checks import CATCHING
from engine.bpmn.runtime import Runner
from engine.bpmn.tasks import bpmn_id, plain, spec_id
from engine.clock import clock_in_use
from engine.bpmn import definitions
from engine.bpmn.failures import failure

__all__ = ["CATCHING", "deliver", "waiting_for"]


def waiting_for(runner: Runner, name: str) -> list[dict]:
    """The workflow's tasks waiting for the message `name`: task id, element, called process."""
    out = []
    for task in runner.workflow.event_manager.tasks.values():
        found = _definition(task, name) if task.state == TaskState.WAITING else None
        if found is not None:
            out.append({"task_id": str(task.id), "element_id": found[1], "called_process": runner.called_process(task)})
    return out


def _definition(task, name: str):
    """(the message definition for `name` the task waits with, the element catching it) or None.

    An event-based gateway waits for all its events itself: the element is the one behind it."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MessageEventDefinition) and definition.name == name:
        return definition, bpmn_id(task)
    if isinstance(definition, MultipleEventDefinition):
        for index, inner in enumerate(definition.event_definitions):
            if isinstance(inner, MessageEventDefinition) and inner.name == name:
                return inner, spec_id(task.task_spec.outputs[index])
    return None


def deliver(runner: Runner, name: str, variables: dict, origin: dict) -> list[dict]:
    """Hand the message to every task of the workflow waiting for it; returns those tasks.

    The variables become the catching task's data when it runs (on the caller's next advance);
    `origin` says who sent them, so a gate deciding on them names the message."""
    caught = waiting_for(runner, name)
    if not caught:
        return []
    try:
        with clock_in_use(runner.clock):
            for c in caught:
                _catch(runner.task(c["task_id"]), name, variables)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises becomes an incident
        task = runner.task(caught[0]["task_id"])
        raise failure(exc, runner._element(task), plain(task.data)) from None
    for key in variables:
        runner.origins[key] = origin
    for c in caught:
        runner.log.events.append({"kind": "message_received", "element_id": c["element_id"], "details": {
            **({"called_process": c["called_process"]} if c["called_process"] else {}),
            "element_name": definitions.element(runner.model, c["called_process"], c["element_id"]).get("name"),
            "message": name, "variables": plain(variables), **origin}})
    return caught


def _catch(task, name: str, variables: dict) -> None:
    """The waiting task catches the message; its variables are set on the task's data when it runs."""
    definition, _element = _definition(task, name)
    task.task_spec.catch(task, BpmnEvent(definition, payload={VARIABLES: dict(variables), "result_var": VARIABLES}))
    task.task_spec._update(task)


# Camunda's message definition (the parser's) puts a payload in one variable when the catching
# task runs; a message from outside (the only kind: throws are refused at deploy) sets its
# variables, as Camunda sets process variables.
VARIABLES = "stagegate:variables"
_camunda_update_task_data = CamundaMessageEventDefinition.update_task_data


def _update_task_data(self, my_task):
    event_data = my_task.internal_data.get(self.name)
    if isinstance(event_data, dict) and event_data.get("result_var") == VARIABLES:
        my_task.data.update(event_data[VARIABLES])
    else:
        _camunda_update_task_data(self, my_task)


CamundaMessageEventDefinition.update_task_data = _update_task_data
