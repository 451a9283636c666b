"""The library's tasks read as diagram elements: which element a task stands for, which flows a
gateway took, which task an escalation chases, and task data as plain values."""
from __future__ import annotations

import logging
from collections import Counter
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.util.task import TaskState

from engine import domain
from engine.bpmn import timekeeping  # noqa: F401 - SpiffWorkflow's timers read the step's clock

# SpiffWorkflow lists the id of every task of each workflow it makes (a deal's start, a called
# process) for an INFO record whenever its logger's own level is unset: Workflow.collect_log_extras
# tests logger.level, not the effective level. That was ~5% of a start's function calls for a record
# the root logger's WARNING drops anyway. Logging configured later still sets the level it wants.
if logging.getLogger("spiff.workflow").level == logging.NOTSET:
    logging.getLogger("spiff.workflow").setLevel(logging.WARNING)


def bpmn_id(task) -> str | None:
    return spec_id(task.task_spec)


def spec_id(spec) -> str | None:
    """The diagram element a task spec stands for."""
    if getattr(spec, "bpmn_id", None):
        return spec.bpmn_id
    if "." in spec.name:  # e.g. "Task_X.BoundaryEventSplit" stands for Task_X on the diagram
        return spec.name.rsplit(".", 1)[0]
    return None


def all_tasks(workflow: BpmnWorkflow):
    # Walks the task dictionaries, not the tree: the tree iterator stops at depth 1,000,
    # which long loops reach, and would then miss ready work.
    yield from workflow.tasks.values()
    for sp in workflow.subprocesses.values():
        yield from sp.tasks.values()


def task_by_id(workflow: BpmnWorkflow, task_id):
    """The task with this id (text or UUID), in the workflow or a process it called; None if gone."""
    try:
        key = task_id if isinstance(task_id, UUID) else UUID(str(task_id))
    except ValueError:
        return None
    for wf in (workflow, *workflow.subprocesses.values()):
        if (t := wf.tasks.get(key)) is not None:
            return t
    return None


def plain(value):
    """Task data as JSON-ready plain values (dates as ISO text, sets as lists)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def flow_outcome(flow: dict) -> str | None:
    """The gate outcome a sequence flow stands for: its `outcome` property or the first word of its name."""
    word = ((flow.get("properties") or {}).get("outcome") or flow.get("name") or "").strip().lower()
    word = word.split()[0] if word else ""
    return word if word in domain.current().gate_outcomes else None


def taken_flows(task, outgoing: list[dict], default: str | None) -> list[str]:
    """Ids of the flows out of a branching gateway that the engine took, in diagram order.

    Each task the gateway made (not the predicted ones) is one flow taken into its element.
    Where several flows lead to that element (won and lost both into one merge), the task
    cannot say which: the conditions of those flows tell, as the library evaluated them."""
    made = Counter(bpmn_id(c) for c in task.children if not c.has_state(TaskState.PREDICTED_MASK))
    taken: list[str] = []
    for target, tokens in made.items():
        into = [f for f in outgoing if f["target"] == target]
        taken += [f["id"] for f in (into if len(into) <= tokens else flows_chosen(task, target, into, default))]
    return [f["id"] for f in outgoing if f["id"] in taken]


def flows_chosen(task, target: str, into: list[dict], default: str | None) -> list[dict]:
    """Which of the flows into `target` the gateway took: those whose condition holds, in the
    library's order (an exclusive gateway stops at the first), else the default flow."""
    exclusive = not isinstance(task.task_spec, InclusiveGateway)
    open_flows = [f for f in into if f["id"] != default and f["condition"]]
    chosen = []
    for condition, spec_name in task.task_spec.cond_task_specs:
        if condition is None or spec_id(task.workflow.spec.task_specs[spec_name]) != target:
            continue
        text = (condition.args[0] or "").strip()
        flow = next((f for f in open_flows if f["condition"] == text and f not in chosen), None)
        if flow is not None and condition._matches(task):
            chosen.append(flow)
            if exclusive:
                break
    return chosen or [f for f in into if f["id"] == default]


def escalates(el: dict) -> str | None:
    """The task an escalation task chases (its `escalates` property, trimmed as deploy reads it), or None."""
    return ((el.get("properties") or {}).get("escalates") or "").strip() or None


def chased_task(escalation, element_id: str, owner):
    """The task an escalation chases: the `element_id` task beside the escalation's branch (the task
    whose boundary timer started it, or a parallel branch's); else any open one of that element.
    `owner(task)` names the process defining a task: the chased task is of the escalation's own."""
    mine = owner(escalation)

    def runs(task) -> bool:  # the element's own task, not the library's split or join around it
        return getattr(task.task_spec, "bpmn_id", None) == element_id and owner(task) == mine

    branch = escalation
    while branch.parent is not None:
        for sibling in branch.parent.children:
            if sibling is not branch and runs(sibling):
                return sibling
        branch = branch.parent
    return next((t for t in all_tasks(escalation.workflow.top_workflow) if runs(t)
                 and t.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)), None)


def merge_outputs(data: dict, outputs: dict) -> None:
    """Set a decision's outputs in the data; a nested output ('item.y') goes inside its field."""
    for key, value in outputs.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merge_outputs(data[key], value)
        else:
            data[key] = value


def new_workflow(spec, subprocess_specs: dict, script_engine, data: dict) -> BpmnWorkflow:
    """A fresh workflow whose start carries the start form's data."""
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    wf.task_tree.data.update(data)
    for t in wf.tasks.values():
        if t.state in (TaskState.READY, TaskState.FUTURE, TaskState.LIKELY):
            t.data.update(data)
    return wf


def timer_element(task) -> str | None:
    """The timer event a waiting task stands for: its own, or the one behind an event-based gateway."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return bpmn_id(task)
    for index, inner in enumerate(getattr(definition, "event_definitions", None) or []):
        if isinstance(inner, TimerEventDefinition):
            return spec_id(task.task_spec.outputs[index])
    return None
