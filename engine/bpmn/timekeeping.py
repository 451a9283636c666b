"""Make SpiffWorkflow's timers read our clock, so tests and the worker control time.

SpiffWorkflow's timer event definitions call datetime.now(timezone.utc) directly. We give
that module a datetime whose now() asks the clock of the step being run (a context
variable set around each engine step); outside a step it is the real time.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_current_clock: contextvars.ContextVar = contextvars.ContextVar("stagegate_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        clock = _current_clock.get()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime


@contextmanager
def clock_in_use(clock):
    """Run the enclosed engine work on `clock`."""
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


def current_now() -> datetime:
    """Now, by the clock of the step being run (real time outside a step)."""
    clock = _current_clock.get()
    return clock.now() if clock is not None else datetime.now(timezone.utc)
