"""Business-day arithmetic for SLAs ("3 business days")."""
from __future__ import annotations

from datetime import date, datetime, timedelta


MAX_BUSINESS_DAYS = 10_000  # about forty years: anything longer is a typo, and costs a long loop


def add_business_days(start: date, n: int) -> date:
    """The date n working days (Mon-Fri) after start (0 <= n <= MAX_BUSINESS_DAYS)."""
    if n < 0:
        raise ValueError("n must not be negative")
    if n > MAX_BUSINESS_DAYS:
        raise ValueError(f"n must be at most {MAX_BUSINESS_DAYS:,} business days")
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
