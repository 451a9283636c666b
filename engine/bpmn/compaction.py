"""Keep an instance's live engine state bounded: drop the history the audit trail already holds.

SpiffWorkflow keeps every task it ever ran in the workflow's task tree, so a deal that goes
round a loop for months grows a tree (and a stored state, and a per-step cost) without bound,
and past depth 1,000 the library's tree iterators stop seeing ready work. After a step is
recorded, `compact` re-roots each task tree at the deepest finished task that is an ancestor
of every unfinished one: everything above it (and every finished branch hanging off that part)
can no longer affect what happens next, and the new root carries the data forward, since a
task's data is a copy of its parent's plus what the task added.

What the library reads across the tree stays in place: parallel and inclusive joins look at the
other join tasks and their parents, which are unfinished or below an unfinished task's ancestor;
boundary events and event-based gateways are siblings under a split task that is an ancestor of
the unfinished tasks; timers keep their due instants on their own (unfinished) task; a call
activity's sub-workflow is dropped only with the task that started it.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.tasks import all_tasks, spec_id


def compact(workflow) -> int:
    """Drop finished history from a workflow and its sub-workflows; returns the number of tasks dropped."""
    dropped = 0
    for wf in [workflow, *workflow.subprocesses.values()]:
        dropped += _reroot(wf)
    # A sub-workflow whose calling task is gone has finished and can never be read again.
    while True:
        gone = [task_id for task_id, sp in workflow.subprocesses.items() if _caller_missing(workflow, sp, task_id)]
        if not gone:
            return dropped
        for task_id in gone:
            dropped += len(workflow.subprocesses.pop(task_id).tasks)


def compact_noting_ways(workflow) -> dict[str, set]:
    """compact(); returns, by task id, the elements each finished task it dropped ran or went on to
    (whether a dropped timer fired is still asked about after the step compacted)."""
    before = {t.id: t for t in all_tasks(workflow)}
    compact(workflow)
    kept = {t.id for t in all_tasks(workflow)}
    return {str(tid): {spec_id(t.task_spec), *(spec_id(before[c].task_spec) for c in t._children if c in before)}
            for tid, t in before.items() if tid not in kept and t.state == TaskState.COMPLETED}


def _caller_missing(top, sp, task_id) -> bool:
    if task_id in top.tasks:
        return False
    return not any(task_id in other.tasks for other in top.subprocesses.values() if other is not sp)


def _reroot(wf) -> int:
    if getattr(wf.spec, "conditional_paths", None):
        return 0  # ad hoc processes restart paths from the root's children: leave them whole
    tasks = wf.tasks
    unfinished = [t for t in tasks.values() if t._state & TaskState.NOT_FINISHED_MASK]
    if not unfinished:
        return 0  # finished: nothing will run again, and the tree was compacted at the last step
    root = _common_ancestor(tasks, unfinished)
    # The new root must be finished (nothing runs it again) and no join: joins read their
    # own parent, which a root no longer has.
    while root is not None and (root._state & TaskState.NOT_FINISHED_MASK or isinstance(root.task_spec, UnstructuredJoin)):
        root = tasks.get(root._parent)
    if root is None or root is wf.task_tree:
        return 0
    keep = set()
    stack = [root]
    while stack:
        t = stack.pop()
        keep.add(t.id)
        stack.extend(tasks[c] for c in t._children)
    dropped = len(tasks) - len(keep)
    root._parent = None
    # In the library's own order: readers that walk the dict (and merge data as they go) see the same sequence.
    wf.tasks = {task_id: t for task_id, t in tasks.items() if task_id in keep}
    wf.task_tree = root
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = root
    return dropped


def _common_ancestor(tasks, unfinished):
    """The deepest task that is an ancestor-or-self of every task in `unfinished`."""
    path = []  # root first
    t = unfinished[0]
    while t is not None:
        path.append(t.id)
        t = tasks.get(t._parent)
    path.reverse()
    index = {task_id: i for i, task_id in enumerate(path)}
    deepest = len(path) - 1
    for t in unfinished[1:]:
        while t.id not in index:
            t = tasks[t._parent]
        deepest = min(deepest, index[t.id])
    return tasks[path[deepest]]
