"""The inbox filters a person has saved, to list as links."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import SavedInboxFilter


def saved_filters(sg, user: str) -> list[dict]:
    """`user`'s saved inbox filters by name: id, name and the inbox arguments each keeps."""
    with sg.uow(write=False) as uow:
        rows = uow.session.execute(select(SavedInboxFilter).where(SavedInboxFilter.user_name == user)
                                   .order_by(SavedInboxFilter.name, SavedInboxFilter.id)).scalars()
        return [{"id": r.id, "name": r.name, "params": dict(r.params or {})} for r in rows]
