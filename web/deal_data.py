"""A deal's data as labelled, readable rows: what the start form said, and what was added since."""
from __future__ import annotations

from .formatting import label, value


def _row(key, raw, fields_by_id) -> dict:
    field = fields_by_id.get(key)
    return {"key": key, "label": (field or {}).get("label") or label(key), "value": value(raw, field)}


def key_data(deal: dict) -> dict:
    """{"start": rows, "since": rows}: the start form's values, then the other data so far."""
    by_id = deal.get("fields") or {}
    started = next((e for e in deal.get("history", []) if e["kind"] == "instance_started"), None)
    start_values = ((started or {}).get("details") or {}).get("data") or {}
    data = deal.get("data") or {}
    start = [_row(k, data.get(k, v), by_id) for k, v in start_values.items()]
    since = [_row(k, v, by_id) for k, v in data.items() if k not in start_values]
    return {"start": start, "since": since}
