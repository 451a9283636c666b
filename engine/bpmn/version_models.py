"""A deployed version's model as the Runner needs it: with the decision tables it decides and
the models of the processes it calls.

Versions deployed since then keep both in the model. Older versions lack them; they are read,
with the same readers, from the files stored with the version (the `sources` rows named by
dmn_sha256s, which hold the called processes' BPMN files as well as the DMN files), so the
version runs what its files say.
"""
from __future__ import annotations

from sqlalchemy.orm import object_session

from engine.bpmn import parsing
from engine.bpmn.definitions import CALLED, calls, with_called
from engine.store.models import Source


def runnable_model(pv) -> dict:
    """pv.model with 'decision_tables' and the called processes' models, read from the stored files if missing."""
    model = pv.model
    need_tables = "decision_tables" not in model
    need_called = CALLED not in model and calls(model)
    if not (need_tables or need_called):
        return model
    tables, processes = {}, {}
    for doc in _stored_documents(pv):
        for decision in doc.decisions:
            if decision["table"] is not None:
                tables[decision["id"]] = decision["table"]
        processes.update((p["process_id"], p) for p in doc.processes)
    if need_tables:
        model = {**model, "decision_tables": tables}
    return with_called(model, processes) if need_called else model


def _stored_documents(pv):
    session = object_session(pv)
    for sha in pv.dmn_sha256s or []:
        src = session.get(Source, sha) if session is not None else None
        if src is None:
            continue
        doc = parsing.read_stored(src)
        if not isinstance(doc, parsing.Problem):
            yield doc
