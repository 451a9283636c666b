"""Driving the engine for external tasks: which are waiting for a worker, completing one, throwing a BPMN error.

The engine leaves an external task READY (Runner.waits_for_worker in runtime.py); these functions are
the only ones that finish it, on a Runner restored for the step.
"""
from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import conditions, io_mapping
from engine.bpmn.failures import EngineFailure, failure
from engine.bpmn.script_engine import evaluator
from engine.bpmn.tasks import all_tasks, bpmn_id, plain
from engine.clock import clock_in_use


def waiting_for_workers(runner) -> list[dict]:
    """External tasks ready for a worker, as plain data (id, element, called process, topic)."""
    out = []
    for t in all_tasks(runner.workflow):
        if t.state == TaskState.READY and not t.task_spec.manual and runner.waits_for_worker(t):
            el = runner._element(t)
            out.append({"id": str(t.id), "element_id": bpmn_id(t), "called_process": runner.called_process(t),
                        "topic": el["topic"], "name": el.get("name"), "priority": el.get("priority")})
    return out


def fetched_inputs(runner, task_id: str) -> dict:
    """The external task's input parameters (its local variables), which its worker fetches with the deal's data."""
    task = _ready(runner, task_id)
    return plain(io_mapping.inputs_of(runner._element(task), task.data)) if task is not None else {}


def _ready(runner, task_id):
    task = runner.task(task_id)
    if task is None or task.state != TaskState.READY or not runner.waits_for_worker(task):
        return None
    return task


def complete_external(runner, task_id: str, variables: dict, actor: str, local_variables: dict | None = None) -> bool:
    """Finish an external task with the worker's variables merged into its data; False if it is not waiting.

    Its local variables (Camunda's localVariables) are seen by its output parameters only."""
    task = _ready(runner, task_id)
    if task is None:
        return False
    el = runner._element(task)
    task.data.update(variables)
    origin = {"kind": "worker", "user": actor, "element_id": el.get("id"), "task": el.get("name")}
    for key in variables:
        runner.origins[key] = origin
    try:
        with clock_in_use(runner.clock):
            if el.get("io"):  # its output parameters, computed on the worker's variables; its inputs end
                prior = deepcopy(task._get_internal_data("io_prior") or {"values": {}, "absent": []})
                for name, value in (local_variables or {}).items():
                    io_mapping.set_local(task.data, prior, name, value)
                io_mapping.complete_task(el["io"], task.data, prior, evaluator(task.workflow.script_engine))
            if not conditions.interrupted_by_condition(runner, task, variables):
                task.complete()  # not run(): a send task would throw a message nothing in the engine carries
    except Exception as exc:  # noqa: BLE001 - whatever the library raises becomes an incident
        raise failure(exc, el, plain(task.data)) from None
    return True


def throw_bpmn_error(runner, task_id: str, code: str, message: str | None, variables: dict) -> str | None:
    """Throw a BPMN error with `code` at the external task, as Camunda does for a worker's bpmnError.

    Returns the id of the error event that caught it; raises EngineFailure if nothing catches it
    (no error boundary event on the task or around it with that code or without one)."""
    task = _ready(runner, task_id)
    if task is None:
        raise LookupError(task_id)
    el = runner._element(task)
    task.data.update(variables)
    if el.get("io"):  # the task's scope ends without its outputs, as in Camunda
        io_mapping.end_inputs(task.data, task._get_internal_data("io_prior"))
    event = BpmnEvent(ErrorEventDefinition(code, code=code), payload=deepcopy(task.data), target=task.workflow)
    top = task.workflow.top_workflow
    before = len(top.bpmn_events)
    with clock_in_use(runner.clock):
        top.catch(event)
    if len(top.bpmn_events) > before:  # nothing caught it: the library queued it for outside the process
        del top.bpmn_events[before:]
        said = f" ({message})" if message else ""
        raise EngineFailure(f"the worker reported BPMN error '{code}'{said}, and no error boundary event on "
                            f"'{el.get('name') or el.get('id')}' or around it catches that code",
                            el.get("id"), el.get("name"), plain(task.data))
    caught = [t for t in all_tasks(runner.workflow) if t.has_state(TaskState.WAITING | TaskState.READY)
              and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
              and t.task_spec.event_definition.has_fired(t)]
    return bpmn_id(caught[0]) if caught else None
