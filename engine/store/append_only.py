"""The audit table only grows: PostgreSQL triggers refuse UPDATE and DELETE, and so does the ORM.

SQLite has no per-role grants, so there the guard is the ORM (any backend gets it too): a
flush or an ORM-level UPDATE/DELETE touching an audit event raises AuditIsAppendOnly. The
hash chain (engine/audit/__init__.py verify) catches whatever bypasses both, e.g. raw SQL on SQLite.
"""
from __future__ import annotations

from sqlalchemy import DDL, event
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent


class AuditIsAppendOnly(RuntimeError):
    """Something tried to change or remove a recorded audit event."""


TRIGGER = "audit_events_append_only"

# Row triggers refuse UPDATE and DELETE; a statement trigger refuses TRUNCATE.
POSTGRES_GUARDS = [
    f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
    MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused';
END $$""",
    f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()",
    f"CREATE TRIGGER {TRIGGER}_truncate BEFORE TRUNCATE ON audit_events "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()",
]
POSTGRES_UNGUARD = [
    f"DROP TRIGGER IF EXISTS {TRIGGER}_truncate ON audit_events",
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON audit_events",
    f"DROP FUNCTION IF EXISTS {TRIGGER}()",
]

# Databases made with metadata.create_all (tests, tools) get the triggers too; migrated ones
# get them from migration 0006_audit_guards.
for _statement in POSTGRES_GUARDS:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


def _refuse(what: str):
    raise AuditIsAppendOnly(f"audit events are never {what}; the trail only grows")


@event.listens_for(AuditEvent, "before_update")
def _no_update(_mapper, _connection, _target):
    _refuse("changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(_mapper, _connection, _target):
    _refuse("deleted")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_change(state):
    # update(AuditEvent) / delete(AuditEvent) statements skip the mapper events above.
    if (state.is_update or state.is_delete) and any(
            m.class_ is AuditEvent for m in state.all_mappers):
        _refuse("changed" if state.is_update else "deleted")
