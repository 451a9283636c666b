"""When a timer start event starts deals: its timeDate, timeDuration or timeCycle read as a schedule.

Camunda 7's meaning, counted from when the version deploys: a timeDate starts one deal at that
instant (at once if it has passed); a timeDuration one deal that long after the deploy; an ISO
cycle `R3/PT10M` three deals ten minutes apart, the first ten minutes after the deploy;
`R/2026-01-01T00:00/P1D` one a day from that instant on; Quartz cron (`0 0 9 * * ?`) at each time
it names. Times without a zone, and cron fields, are the server's local time, as Camunda's are
(and as SpiffWorkflow reads the other timers' dates).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import LOCALTZ, TimerEventDefinition as _Iso

from engine.bpmn import quartz

class ScheduleError(ValueError):
    """A timer start event whose timer is not a schedule the engine reads; the message says what to write."""


@dataclass(frozen=True)
class Schedule:
    kind: str  # date | duration | cycle | cron
    text: str
    at: datetime | None = None  # a date's instant, a cycle's explicit start
    period: tuple | None = None  # a duration's or cycle's parsed ISO duration, as sorted (name, amount) pairs
    repeats: int = -1  # a cycle's count (R3), -1 for unbounded (R/)
    cron: quartz.Cron | None = None

    def first_due(self, deployed_at: datetime) -> datetime | None:
        """When the schedule first starts a deal, for a version deployed at `deployed_at`."""
        if self.kind == "date":
            return self.at
        if self.kind == "duration":
            return _plus(deployed_at, self.period)
        if self.kind == "cron":
            return _cron_after(self.cron, deployed_at)
        start = self.at or _plus(deployed_at, self.period)
        return start if start > deployed_at else self.next_due(deployed_at, deployed_at)  # a start in the past

    def next_due(self, deployed_at: datetime, after: datetime) -> datetime | None:
        """The first instant of the schedule strictly after `after`; None when it is spent. Times missed
        while no worker ran are skipped: the overdue start was the one deal for all of them, as in Camunda."""
        if self.kind in ("date", "duration"):
            return None
        if self.kind == "cron":
            return _cron_after(self.cron, after)
        t, n = self.at or _plus(deployed_at, self.period), 0
        fixed = _fixed(self.period)
        if fixed is not None and t <= after:  # jump, so a fine cycle long overdue costs no loop
            n = (after - t) // fixed + 1
            t += n * fixed
        while t <= after:
            t, n = _plus(t, self.period), n + 1
        return t if self.repeats < 0 or n < self.repeats else None


def read(kind: str, expression: str) -> Schedule:
    """The schedule a timer start event's timer text gives (quoted by the parser when it is ISO), or
    ScheduleError saying what to write instead."""
    text = _text(expression)
    try:
        if kind == "timeDate":
            return Schedule("date", text, at=_Iso.get_datetime(text))
        if kind == "timeDuration":
            return Schedule("duration", text, period=_period(text))
        if quartz.looks_like_cron(text):
            return Schedule("cron", text, cron=quartz.parse(text))
        return _cycle(text)
    except quartz.CronError as exc:
        raise ScheduleError(f"timer cycle `{text}` is not Quartz cron as Camunda reads it: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise ScheduleError(f"timer {kind} `{text}` is not {_EXAMPLES[kind]}") from None


_EXAMPLES = {
    "timeDate": "an ISO 8601 date and time, e.g. 2026-03-01T09:00:00",
    "timeDuration": "an ISO 8601 duration, e.g. PT10M or P1D",
    "timeCycle": "an ISO 8601 repetition (R3/PT10M, R/2026-01-01T00:00/P1D) or Quartz cron (0 0 9 * * ?)",
}


def _text(expression: str) -> str:
    """The timer's text as written: the parser quotes ISO values as a Python string literal."""
    try:
        value = ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        value = expression
    if not isinstance(value, str) or "${" in value or "#{" in value:
        raise ScheduleError(
            f"timer `{expression}` is an expression, but a timer start event's schedule is read when the version "
            "deploys, before any deal holds data: write the date, duration or cycle as text (2026-03-01T09:00, "
            "PT10M, R3/PT10M, 0 0 9 * * ?)")
    return value.strip()


def _cycle(text: str) -> Schedule:
    parts = text.upper().split("/")
    count = parts[0][1:]
    if len(parts) not in (2, 3) or not parts[0].startswith("R") or not (count == "" or count.isascii() and count.isdigit()):
        raise ValueError(text)
    repeats = int(parts[0][1:]) if parts[0][1:] else -1
    if len(parts) == 2:
        return Schedule("cycle", text, period=_period(parts[1]), repeats=repeats)
    if parts[1].startswith("P"):  # R/duration/end: counted back from the end
        period, end = _period(parts[1]), _Iso.get_datetime(parts[2])
        start = end - _Iso.get_timedelta_from_end(dict(period), end) * max(repeats - 1, 0)
        return Schedule("cycle", text, at=start, period=period, repeats=repeats)
    return Schedule("cycle", text, at=_Iso.get_datetime(parts[1]), period=_period(parts[2]), repeats=repeats)


def _period(text: str) -> tuple:
    parsed = _Iso.parse_iso_duration(text.strip().upper()) if text.strip().upper().startswith("P") else None
    if not parsed or not any(parsed.values()):
        raise ValueError(text)
    return tuple(sorted(parsed.items()))


def _plus(start: datetime, period: tuple) -> datetime:
    return start + _Iso.get_timedelta_from_start(dict(period), start)


def _fixed(period: tuple) -> timedelta | None:
    """The period as a fixed length, unless it counts months or years (whose length varies)."""
    parts = dict(period)
    return None if parts.get("years") or parts.get("months") else timedelta(**parts)


def _cron_after(cron: quartz.Cron, after: datetime) -> datetime | None:
    found = cron.next_after(after.astimezone(LOCALTZ))
    return None if found is None else found.astimezone(timezone.utc)


def cron_next(text: str, after: datetime) -> datetime | None:
    """When the Quartz cron `text` next fires after `after` (UTC), in the server's local time as Camunda's do."""
    return _cron_after(quartz.parse(text), after)
