"""Quartz cron, as Camunda 7 reads a timeCycle like `0 0 9 * * ?`: when it next fires.

Fields: seconds, minutes, hours, day of month, month, day of week (1 = Sunday), optional year;
`*`, `?`, lists, ranges (wrapping, e.g. FRI-MON), steps (`0/5`, `*/10`, `10-40/10`), month and
day names, and the day specials `L`, `L-3`, `15W`, `LW`, `6L` (last Friday), `2#1` (first Monday).
Written here rather than taken from a Unix cron library: Unix cron has no seconds field, numbers
the week from 0 = Sunday and has no `?`, `W` or `#`, so Quartz text would need translating and
would still fire on other days.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_FIELDS = (("second", 0, 59, {}), ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, MONTHS), ("day of week", 1, 7, DAYS), ("year", 1970, 2099, {}))
LAST_YEAR = 2099


class CronError(ValueError):
    """Text that is not a Quartz cron expression; the message says what is wrong."""


@dataclass(frozen=True)
class Cron:
    seconds: frozenset
    minutes: frozenset
    hours: frozenset
    months: frozenset
    years: frozenset | None
    day_of_month: str  # the field as written ('?' when the day of week decides)
    day_of_week: str

    def day_matches(self, year: int, month: int, day: int) -> bool:
        if self.day_of_month != "?":
            return _dom_matches(self.day_of_month, year, month, day)
        return _dow_matches(self.day_of_week, year, month, day)

    def next_after(self, after: datetime) -> datetime | None:
        """The first instant strictly after `after` (in its time zone) that the expression names, or None."""
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        while t.year <= LAST_YEAR:
            if self.years is not None and t.year not in self.years:
                t = t.replace(year=t.year + 1, month=1, day=1, hour=0, minute=0, second=0)
            elif t.month not in self.months:
                t = _next_month(t)
            elif not self.day_matches(t.year, t.month, t.day):
                t = _next_day(t)
            elif (h := _at_least(self.hours, t.hour)) != t.hour:
                t = _next_day(t) if h is None else t.replace(hour=h, minute=0, second=0)
            elif (m := _at_least(self.minutes, t.minute)) != t.minute:
                t = (t.replace(minute=0, second=0) + timedelta(hours=1)) if m is None else t.replace(minute=m, second=0)
            elif (s := _at_least(self.seconds, t.second)) != t.second:
                t = (t.replace(second=0) + timedelta(minutes=1)) if s is None else t.replace(second=s)
            else:
                return t
        return None


def looks_like_cron(text: str) -> bool:
    """Blank-separated fields: what Camunda reads as Quartz cron rather than ISO 8601."""
    return len(text.split()) >= 5  # five: Unix cron, which parse() says lacks the seconds


def parse(text: str) -> Cron:
    """The cron expression `text`, or CronError saying which field is wrong."""
    fields = text.upper().split()
    if len(fields) not in (6, 7):
        raise CronError(f"it has {len(fields)} fields; Quartz cron has 6 or 7 (seconds minutes hours "
                        "day-of-month month day-of-week [year])")
    dom, dow = fields[3], fields[5]
    if (dom == "?") == (dow == "?"):
        raise CronError("it must have `?` in exactly one of day of month and day of week (Quartz's rule: "
                        "e.g. `0 0 9 * * ?` every day at 9, `0 0 9 ? * MON-FRI` weekdays at 9)")
    sets = [_values(f, *_FIELDS[i]) for i, f in enumerate(fields) if i not in (3, 5)]
    if dom != "?":
        _check_dom(dom)
    if dow != "?":
        _check_dow(dow)
    return Cron(*sets[:4], sets[4] if len(fields) == 7 else None, dom, dow)


def _values(field: str, label: str, low: int, high: int, names: dict) -> frozenset:
    out: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        try:
            every = int(step) if step else 1
            if every < 1:
                raise ValueError
            if base in ("*", "?"):
                first, last = low, high
            elif "-" in base:
                first, last = (_number(b, names) for b in base.split("-", 1))
            else:
                first = _number(base, names)
                last = high if step else first
        except ValueError:
            raise CronError(f"the {label} field `{field}` is not a value, range or step Quartz reads") from None
        if not (low <= first <= high and low <= last <= high):
            raise CronError(f"the {label} field `{field}` is outside {low}-{high}")
        span = list(range(first, last + 1)) if first <= last else list(range(first, high + 1)) + list(range(low, last + 1))
        out.update(span[::every])
    return frozenset(out)


def _number(text: str, names: dict) -> int:
    return names[text] if text in names else int(text)


def _check_dom(field: str) -> None:
    if field in ("L", "LW") or field.startswith("L-") and field[2:].isascii() and field[2:].isdigit():
        return
    if field.endswith("W") and field[:-1].isascii() and field[:-1].isdigit() and 1 <= int(field[:-1]) <= 31:
        return
    _values(field, *_FIELDS[3])


def _check_dow(field: str) -> None:
    if field == "L":
        return
    if field.endswith("L"):
        _values(field[:-1], *_FIELDS[5])
    elif "#" in field:
        day, _, nth = field.partition("#")
        _values(day, *_FIELDS[5])
        if not (nth.isascii() and nth.isdigit()) or not 1 <= int(nth) <= 5:
            raise CronError(f"in the day of week field `{field}`, after # comes which week of the month, 1 to 5")
    else:
        _values(field, *_FIELDS[5])


def _weekday(year: int, month: int, day: int) -> int:
    """Quartz's day of week: 1 = Sunday ... 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _dom_matches(field: str, year: int, month: int, day: int) -> bool:
    last = calendar.monthrange(year, month)[1]
    if field == "L":
        return day == last
    if field.startswith("L-"):
        return day == max(1, last - int(field[2:]))
    if field.endswith("W"):
        return day == _nearest_weekday(year, month, last if field == "LW" else min(int(field[:-1]), last))
    return day in _values(field, *_FIELDS[3])


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """Quartz's `W`: the weekday nearest `day`, never leaving the month."""
    wd = calendar.weekday(year, month, day)  # 5 Saturday, 6 Sunday
    if wd == 5:
        return day - 1 if day > 1 else day + 2
    if wd == 6:
        return day + 1 if day < calendar.monthrange(year, month)[1] else day - 2
    return day


def _dow_matches(field: str, year: int, month: int, day: int) -> bool:
    weekday, last = _weekday(year, month, day), calendar.monthrange(year, month)[1]
    if field == "L":
        return weekday == 7
    if field.endswith("L"):
        return weekday in _values(field[:-1], *_FIELDS[5]) and day + 7 > last
    if "#" in field:
        wanted, _, nth = field.partition("#")
        return weekday in _values(wanted, *_FIELDS[5]) and (day - 1) // 7 + 1 == int(nth)
    return weekday in _values(field, *_FIELDS[5])


def _at_least(values: frozenset, current: int) -> int | None:
    return min((v for v in values if v >= current), default=None)


def _next_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0) + timedelta(days=1)


def _next_month(t: datetime) -> datetime:
    return t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1, day=1, hour=0, minute=0, second=0)
