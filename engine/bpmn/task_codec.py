"""A workflow's task tree to and from its stored dicts, in SpiffWorkflow 3.2's own format, without
the library's per-task and per-value dispatch.

Every step restores its deal's task tree and stores it again. SpiffWorkflow's converters route each
task and each data value through the registry (a typename lookup, a dict copy, a partial call),
and parse every task's id, parent and children into separate UUID objects, so that each later
lookup of a parent in the task dict compares two distinct UUIDs in Python. Here a task's dict is
read and written directly, as TaskConverter (SpiffWorkflow/bpmn/serializer/default/workflow.py)
does, every value that may hold a typed object (a dict or a list: a datetime, a timedelta) still
through the registry, and each id is parsed once, so one UUID object stands for a task wherever the
tree names it. The stored dicts are the library's, key for key: either reads what the other wrote
(tests/test_task_codec.py holds this against the library on real diagrams).
"""
from __future__ import annotations

from copy import copy
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_PLAIN = (str, int, float, bool, type(None))  # values the registry returns as they are
_MUTABLE = (dict, list, set)  # what DeepMerge.merge copies (one level) when a task inherits its parent's data
TYPENAME = "Task"


def converter_of(registry, typename: str):
    """The converter the registry writes objects of `typename` with (it registers a partial of its to_dict)."""
    to_dict = registry.convert_to_dict.get(typename)
    return getattr(getattr(to_dict, "args", (None, None))[1], "__self__", None)


def applies(registry) -> bool:
    """Whether the registry stores tasks with SpiffWorkflow's own TaskConverter (else use the library)."""
    return registry.typenames.get(Task) == TYPENAME and type(converter_of(registry, TYPENAME)) is TaskConverter


def tasks_to_dict(registry, tasks: dict) -> dict:
    """{str(task id): task dict} of a workflow's tasks, as mapping_to_dict(workflow.tasks) gives it."""
    out = {}
    for task_id, task in tasks.items():
        out[str(task_id)] = _task_to_dict(registry, task, tasks) if type(task) is Task else registry.convert(task)
    return out


def _task_to_dict(registry, task, tasks: dict) -> dict:
    parent = tasks.get(task._parent)  # task.parent: its workflow's tasks are `tasks`
    td = task.data
    if parent is None:
        data, delta = td, {}
    else:
        pd = parent.data
        data = {}
        delta = {"updates": {k: v for k, v in td.items() if k not in pd or v != pd[k]},
                 "deletions": [k for k in pd if k not in td]}
    internal = task.internal_data
    return {
        "id": str(task.id),
        "parent": str(task._parent) if parent is not None else None,
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(internal) if internal else {},
        "data": data,
        "delta": delta,
        "typename": TYPENAME,
    }


def tasks_from_dict(registry, stored: dict, workflow) -> dict:
    """The workflow's tasks restored from tasks_to_dict's form (what mapping_from_dict(..., UUID) gives)."""
    ids: dict[str, UUID] = {}

    def uuid(text: str) -> UUID:
        found = ids.get(text)
        if found is None:
            found = ids[text] = UUID(text)
        return found

    restore = registry.restore
    specs = workflow.spec.task_specs
    out = {}
    for key, dct in stored.items():
        if dct.get("typename") != TYPENAME:
            out[uuid(key)] = restore(dct, workflow=workflow)
            continue
        spec = specs.get(dct["task_spec"])
        task = Task(workflow, spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = restore(dct["internal_data"]) if dct["internal_data"] else {}
        if isinstance(spec, CatchingEvent) and task._state & TaskState.WAITING:
            workflow.top_workflow.event_manager.add_task(task)
        task.data = _data(restore, dct, workflow.tasks.get(task._parent))
        out[task.id] = task
    return out


def _data(restore, dct: dict, parent) -> dict:
    """A task's data: its parent's (copied as DeepMerge.merge({}, ...) copies it) with its own changes.

    Value by value: the library restores the changes (or a root's data) as one value, so a variable
    named "typename" made it take them for a typed object and fail; here such a variable is data."""
    delta = dct.get("delta")
    if not delta or parent is None:
        return _restored(restore, dct["data"])
    data = {k: copy(v) if isinstance(v, _MUTABLE) else v for k, v in parent.data.items()}
    data.update(_restored(restore, delta.get("updates", {})))
    for key in delta.get("deletions", {}):
        data.pop(key, None)
    return data


def _restored(restore, values: dict) -> dict:
    return {k: v if type(v) in _PLAIN else restore(v) for k, v in values.items()}
