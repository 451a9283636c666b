"""Jinja filters that turn the engine's plain data into text a person reads."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Flask

from engine.limits import LIMIT_NAMES

from .history import decider, describe

NOTHING = "—"


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def when(text: str | None) -> str:
    """An ISO instant as 'YYYY-MM-DD HH:MM UTC'."""
    dt = _instant(text)
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else NOTHING


def day(text: str | None) -> str:
    """An ISO instant as its date."""
    dt = _instant(text)
    return dt.strftime("%Y-%m-%d") if dt else NOTHING


def age(hours: float | None) -> str:
    """A duration in hours as '25 min', '3 h' or '2 d'."""
    if hours is None:
        return NOTHING
    if hours < 1:
        return f"{max(0, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{int(hours // 24)} d"


def value(v, field: dict | None = None) -> str:
    """A data value for reading: yes/no, 1,234, an enum option's name, '—' for nothing."""
    if v is None or v == "":
        return NOTHING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if field and field.get("type") == "enum":
        names = {o["id"]: o.get("name") or o["id"] for o in field.get("options", [])}
        return names.get(v, str(v))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def role(name: str | None) -> str:
    """A role key ('sales leadership') as people write it ('Sales Leadership')."""
    return " ".join(w.capitalize() for w in (name or "").split()) or NOTHING


def label(key: str) -> str:
    """A data key ('decision_maker') as a label ('Decision maker')."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def sandbox_limit(key: str | None) -> str:
    """A sandbox limit's key ('cpu') as people say it ('CPU time')."""
    return LIMIT_NAMES.get(key or "", key or NOTHING)


def init_app(app: Flask) -> None:
    """Register the filters."""
    for fn in (when, day, age, value, role, label, describe, decider, sandbox_limit):
        app.add_template_filter(fn)
