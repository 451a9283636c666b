"""Conditional events as Camunda 7 evaluates them: a condition over a variable no one has set yet
has not fired (Camunda's tryEvaluate), rather than failing the deal at the event.

SpiffWorkflow's ConditionalEventDefinition evaluates its expression and lets a missing name
fail the step; we give it Camunda's reading. Its JUEL is translated by engine/bpmn/juel_xml.py.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition


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
