"""Time source: real UTC by default, settable in tests so timers fire without sleeping."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_step_clock: contextvars.ContextVar = contextvars.ContextVar("stagegate_clock", default=None)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def utc(at: datetime | None) -> datetime | None:
    """The instant as aware UTC (SQLite hands back naive datetimes)."""
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return utcnow()


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = start or utcnow()

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def iso(dt: datetime | None) -> str | None:
    """Canonical UTC ISO text; naive datetimes (SQLite) are taken as UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextmanager
def clock_in_use(clock):
    """Run the enclosed engine work (a step, a sandbox evaluation) on `clock`."""
    token = _step_clock.set(clock)
    try:
        yield
    finally:
        _step_clock.reset(token)


def step_clock():
    """The clock of the step being run, or None outside a step."""
    return _step_clock.get()


def current_now() -> datetime:
    """Now, by the clock of the step being run (real time outside a step)."""
    clock = _step_clock.get()
    return clock.now() if clock is not None else datetime.now(timezone.utc)
