"""The names people know processes by: the diagram's name, never an id like `site_visit_074119`."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.models import ProcessVersion


def friendly(process_id: str | None, name: str | None = None) -> str:
    """The process's name; without one, its id in words (`site_visit_074119` -> "Site visit")."""
    if name and name.strip():
        return name.strip()
    if not process_id:
        return "—"
    words = re.sub(r"[_\-.]+", " ", re.sub(r"[_\-]\d+$", "", process_id)).strip()
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", words).lower()  # camelCase ids read as words too
    return (words[:1].upper() + words[1:]) or process_id


def process_names(s) -> dict[str, str]:
    """Every deployed process id -> the friendly name of its newest version (reads two narrow columns)."""
    rows = s.execute(select(ProcessVersion.process_id, ProcessVersion.name).order_by(ProcessVersion.version))
    return {pid: friendly(pid, name) for pid, name in rows}
