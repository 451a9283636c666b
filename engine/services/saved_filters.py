"""Use cases on the inbox filters people save: save one under a name, delete one."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import audit
from engine.actors import load_user
from engine.errors import FormInvalid, NotFound
from engine.limits import unstorable
from engine.readonly import audited_refusals, forbid_auditor
from engine.store.models import SavedInboxFilter

NAME_MAX = 80
MAX_PER_USER = 50
PARAMS = ("view", "q", "sort", "process", "role", "stage", "key")  # the inbox's own query arguments
PARAM_MAX = 255


def _clean(name: str | None, params: dict | None) -> tuple[str, dict]:
    """The filter's name and the inbox arguments it keeps, or FormInvalid saying what is wrong."""
    name = " ".join((name or "").split())
    kept = {k: str(v).strip() for k, v in (params or {}).items() if k in PARAMS and v not in (None, "")}
    errors = {}
    if not name:
        errors["name"] = "is required: a name you will know the filter by, e.g. 'Overdue sign-offs'"
    elif len(name) > NAME_MAX:
        errors["name"] = f"is too long: at most {NAME_MAX} characters"
    elif unstorable(name):
        errors["name"] = f"holds {unstorable(name)}: type the name again"
    if any(len(v) > PARAM_MAX for v in kept.values()):
        errors["params"] = f"a search or filter value is longer than {PARAM_MAX} characters"
    elif any(unstorable(v) for v in kept.values()):
        errors["params"] = "a search or filter value holds a character no database can store (NUL or a lone surrogate)"
    if errors:
        raise FormInvalid(errors, {"name": name, **kept})
    return name, kept


@audited_refusals
def save_filter(sg, actor: str, name: str | None, params: dict | None) -> dict:
    """Save the inbox's current view, search, filters and sort under `name` for `actor` (the same name replaces)."""
    name, kept = _clean(name, params)
    with sg.uow() as uow:
        s = uow.session
        forbid_auditor(load_user(s, actor), "save an inbox filter")
        row = s.execute(select(SavedInboxFilter).where(SavedInboxFilter.user_name == actor,
                                                       SavedInboxFilter.name == name)).scalar_one_or_none()
        replaced = row is not None
        if row is None:
            held = s.execute(select(func.count()).select_from(SavedInboxFilter)
                             .where(SavedInboxFilter.user_name == actor)).scalar_one()
            if held >= MAX_PER_USER:
                raise FormInvalid({"name": f"you have {held} saved filters, the most one person may keep; "
                                           "delete one first"}, {"name": name, **kept})
            row = SavedInboxFilter(user_name=actor, name=name, created_at=sg.now())
            s.add(row)
        row.params = kept
        s.flush()
        audit.record(s, sg.now(), actor, "inbox_filter_saved",
                     details={"filter_id": row.id, "name": name, "params": kept, "replaced": replaced})
        result = {"id": row.id, "name": name, "params": kept, "replaced": replaced}
        uow.commit()
    return result


@audited_refusals
def delete_filter(sg, actor: str, filter_id: int) -> dict:
    """Delete one of `actor`'s saved filters (another person's is not found, as if it did not exist)."""
    with sg.uow() as uow:
        s = uow.session
        forbid_auditor(load_user(s, actor), "delete an inbox filter")
        row = s.get(SavedInboxFilter, filter_id)
        if row is None or row.user_name != actor:
            raise NotFound(f"you have no saved filter number {filter_id}")
        result = {"id": row.id, "name": row.name}
        s.delete(row)
        audit.record(s, sg.now(), actor, "inbox_filter_deleted", details={"filter_id": row.id, "name": row.name})
        uow.commit()
    return result
