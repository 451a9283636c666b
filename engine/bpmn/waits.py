"""What a deal waits for besides people after a step: messages, timers and outside workers."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import definitions
from engine.bpmn.external_runtime import waiting_for_workers
from engine.bpmn.runtime import Runner


def waiting_on(runner: Runner, model: dict) -> list[dict]:
    """[{kind: message | timer | worker, name}] the workflow waits on, each named as its diagram names it."""
    out = []
    for task in runner.workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        found = getattr(task.task_spec, "event_definition", None)
        inner = found.event_definitions if isinstance(found, MultipleEventDefinition) else [found]
        out += [{"kind": "message", "name": d.name} for d in inner if isinstance(d, MessageEventDefinition)]
    for t in runner.waiting_timers():
        element = definitions.element(model, t["called_process"], t["element_id"]) or {}
        out.append({"kind": "timer", "name": element.get("name") or t["element_id"], "due_at": t["due_at"]})
    out += [{"kind": "worker", "name": w.get("name") or w["element_id"]} for w in waiting_for_workers(runner)]
    return list({(w["kind"], w["name"]): w for w in out}.values())
