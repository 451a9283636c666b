"""Business-day arithmetic for SLAs ("3 business days")."""
from __future__ import annotations

from datetime import date, datetime, timedelta


def add_business_days(start: date, n: int) -> date:
    """The date n working days (Mon-Fri) after start."""
    if n < 0:
        raise ValueError("n must not be negative")
    d = start
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def business_days_duration(n: int, now: datetime) -> str:
    """ISO-8601 duration from `now` to the same time n business days later, e.g. 'P5D' over a weekend."""
    n = int(n)
    return f"P{(add_business_days(now.date(), n) - now.date()).days}D"
