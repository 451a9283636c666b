"""A deployed version's model as the Runner needs it: with the decision tables it decides.

Versions deployed since decision tables became plain data keep theirs in the model. Older
versions have none there; their tables are read, with the same reader, from the DMN files
stored with the version (the `sources` rows named by dmn_sha256s), so they decide what their
files say.
"""
from __future__ import annotations

from sqlalchemy.orm import object_session

from . import parsing
from .models import Source


def runnable_model(pv) -> dict:
    """pv.model with 'decision_tables' (decision id -> table), read from the stored files if missing."""
    if "decision_tables" in pv.model:
        return pv.model
    session = object_session(pv)
    tables = {}
    for sha in pv.dmn_sha256s or []:
        src = session.get(Source, sha) if session is not None else None
        if src is None or src.kind != "dmn":
            continue
        doc = parsing.read_document(src.file_name, src.content, deployed=True)
        for decision in getattr(doc, "decisions", []):
            if decision["table"] is not None:
                tables[decision["id"]] = decision["table"]
    return {**pv.model, "decision_tables": tables}
