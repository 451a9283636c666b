"""Which deals a figure covers: one process, optionally one version, optionally a period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from engine.errors import Refused
from engine.limits import InputRefused, day, text_value, whole_number

DEFAULT_PROCESS = "opportunity"


@dataclass(frozen=True)
class Scope:
    """A process, a version (None: all) and a period [since, until) in UTC (None: open-ended)."""

    process_id: str = DEFAULT_PROCESS
    version: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def covers(self, at: datetime | None) -> bool:
        """True if the instant falls in the period."""
        if at is None:
            return False
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def as_dict(self) -> dict:
        last_day = (self.until - timedelta(days=1)).date().isoformat() if self.until else None
        return {"process_id": self.process_id, "version": self.version,
                "from": self.since.date().isoformat() if self.since else None, "to": last_day}


def restrict(q, scope: Scope, process_col, version_col, at_col=None):
    """The query limited to the scope's process and version, and to its period on `at_col` if given."""
    q = q.where(process_col == scope.process_id)
    if scope.version is not None:
        q = q.where(version_col == scope.version)
    if at_col is not None and scope.since is not None:
        q = q.where(at_col >= scope.since)
    if at_col is not None and scope.until is not None:
        q = q.where(at_col < scope.until)
    return q


def _checked(read, value, what: str):
    try:
        return read(value, what)
    except InputRefused as exc:
        raise Refused(str(exc)) from None


def scope_from(process_id: str | None = None, version=None, date_from: str | None = None,
               date_to: str | None = None) -> Scope:
    """A Scope from user input (dates as YYYY-MM-DD, both days included); Refused on bad input."""
    number = _checked(whole_number, version, "version")
    if number is not None and number < 1:
        raise Refused(f"version {number} does not exist: versions start at 1")
    start, end = _checked(day, date_from, "from date"), _checked(day, date_to, "to date")
    if start and end and end < start:
        raise Refused(f"the period ends ({end}) before it starts ({start})")
    since = datetime.combine(start, time(), timezone.utc) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), timezone.utc) if end else None
    return Scope(_checked(text_value, process_id, "process") or DEFAULT_PROCESS, number, since, until)
