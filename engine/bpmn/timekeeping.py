"""Make SpiffWorkflow's timers read our clock, so tests and the worker control time; and fire them as
Camunda does when several are due together.

SpiffWorkflow's timer event definitions call datetime.now(timezone.utc) directly. We give
that module a datetime whose now() asks the clock of the step being run (engine.clock's
clock_in_use, set around each engine step); outside a step it is the real time.
"""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from engine.clock import step_clock


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        clock = step_clock()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime


def _due(task) -> datetime:
    """When the timer event `task` is due (SpiffWorkflow keeps it as ISO text); unknown: last."""
    value = task._get_internal_data("event_value")
    value = value.get("next") if isinstance(value, dict) else value
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        when = datetime.max
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def first_interruption_only(tasks) -> None:
    """Of the boundary timers of one activity found due together (the worker was away), none due after
    the earliest interrupting one fires: as in Camunda, where that one fires first and cancels the rest."""
    due_together: dict = {}
    for t in tasks:
        spec = t.task_spec
        if t.state == TaskState.READY and isinstance(spec, BoundaryEvent) and \
                isinstance(spec.event_definition, TimerEventDefinition):
            due_together.setdefault(t.parent.id, []).append(t)
    for group in due_together.values():
        interrupting = [_due(t) for t in group if t.task_spec.cancel_activity]
        if interrupting and len(group) > 1:
            for t in group:
                if _due(t) > min(interrupting):
                    t._set_state(TaskState.WAITING)  # the interruption cancels it, as it does any waiting timer
