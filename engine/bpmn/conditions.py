"""Conditional events as Camunda 7 evaluates them: a condition over a variable no one has set yet
has not fired (Camunda's tryEvaluate), rather than failing the deal at the event; and the
variables a person or worker completes a task with reach the waiting conditional events first.

SpiffWorkflow's ConditionalEventDefinition evaluates its expression and lets a missing name
fail the step; we give it Camunda's reading. Its JUEL is translated by engine/bpmn/juel_xml.py.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import definitions
from engine.bpmn.tasks import all_tasks


def _has_fired(self, my_task) -> bool:
    try:
        fired = my_task.workflow.script_engine.evaluate(my_task, self.expression,
                                                        external_context=my_task.workflow.data_objects)
    except Exception as exc:  # noqa: BLE001 - only a missing variable is forgiven; the rest is raised
        if not str(exc.__context__ or exc).startswith("NameError"):  # the sandbox's error, wrapped by SpiffWorkflow
            raise
        fired = False
    my_task._set_internal_data(has_fired=bool(fired))
    return bool(fired)


ConditionalEventDefinition.has_fired = _has_fired


def interrupted_by_condition(runner, task, variables: dict) -> bool:
    """Camunda evaluates conditional events when variables are set: the worker's variables reach each
    waiting conditional event, and True if one that fired interrupts (its activity, this task's
    scope, is then cancelled when the event runs, and the task is not completed)."""
    if not variables:
        return False
    elements = definitions.definition(runner.model, runner.called_process(task))["elements"]
    scope, at = set(), runner._element(task)
    while at:
        scope.add(at["id"])
        at = elements.get(at.get("parent"))
    interrupting = False
    for t in list(all_tasks(runner.workflow)):
        if t.state == TaskState.WAITING and isinstance(getattr(t.task_spec, "event_definition", None),
                                                       ConditionalEventDefinition):
            t.data.update(variables)
            t.task_spec._update(t)
            el = runner._element(t)
            interrupting |= (t.state == TaskState.READY and el.get("type") == "boundaryEvent"
                             and el.get("cancel_activity", True) and el.get("attached_to") in scope)
    return interrupting
