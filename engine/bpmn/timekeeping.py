"""Make SpiffWorkflow's timers read our clock, so tests and the worker control time; fire them as
Camunda does when several are due together; and read Quartz cron cycles as Camunda 7 does.

SpiffWorkflow's timer event definitions call datetime.now(timezone.utc) directly. We give
that module a datetime whose now() asks the clock of the step being run (engine.clock's
clock_in_use, set around each engine step); outside a step it is the real time. Its cycle
timers read only ISO repetitions; a cycle whose text is Quartz cron (`0 0 9 ? * MON-FRI`) fires
at each time the cron names, the next one counted from when the last fired, as Camunda's do.
"""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import quartz, schedules
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


_iso_cycle_complete = _spiff_timer.CycleTimerEventDefinition.cycle_complete


def _cycle_complete(self, my_task) -> bool:
    """True when the cycle is due (its task then starts another turn); a cron cycle never ends unless its
    years run out."""
    value = my_task._get_internal_data("event_value")
    now = _ClockedDatetime.now(timezone.utc)
    if value is None:
        text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        if not (isinstance(text, str) and quartz.looks_like_cron(text)):
            return _iso_cycle_complete(self, my_task)
        first = schedules.cron_next(text, now)
        value = {"cycles": -1, "cron": text, "next": first.isoformat() if first else None}
    elif "cron" not in value:
        return _iso_cycle_complete(self, my_task)
    ready = False
    if value["next"] is None:  # a cron whose last year has passed: the timer is done
        my_task.internal_data.pop("event_value", None)
        my_task.internal_data["event_fired"] = True
        return False
    if datetime.fromisoformat(value["next"]) <= now:  # due at the instant the worker claims it
        following = schedules.cron_next(value["cron"], now)
        value["next"], ready = (following.isoformat() if following else None), True
    my_task._set_internal_data(event_value=value)
    return ready


_spiff_timer.CycleTimerEventDefinition.cycle_complete = _cycle_complete
