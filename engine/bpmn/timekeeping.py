"""Make SpiffWorkflow's timers read our clock, so tests and the worker control time.

SpiffWorkflow's timer event definitions call datetime.now(timezone.utc) directly. We give
that module a datetime whose now() asks the clock of the step being run (engine.clock's
clock_in_use, set around each engine step); outside a step it is the real time.
"""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

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
