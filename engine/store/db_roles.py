"""The app's own PostgreSQL role: it may read and write the working tables, and only add to the audit trail.

Migrations run as the owner of the tables (STAGEGATE_OWNER_DATABASE_URL); the app connects as
a role that owns nothing, so it cannot ALTER TABLE (no DISABLE TRIGGER), TRUNCATE, or UPDATE
and DELETE audit events: on audit_events it has INSERT and SELECT only. The grants are made
again after every migration, so a table a new migration adds gets its grant at once.
"""
from __future__ import annotations

import logging

from sqlalchemy import String, inspect, text
from sqlalchemy.engine import URL, Connection

from engine.errors import StagegateError

log = logging.getLogger("stagegate.db")

APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables the app may not change as it changes the others.
LIMITED = {"audit_events": "SELECT, INSERT", "alembic_version": "SELECT"}


class RoleSetupFailed(StagegateError):
    """The app role could not be created or granted its privileges."""


def grant_app_role(conn: Connection, app_url: URL) -> str | None:
    """Create the app's role if missing and grant it exactly what the app needs in the current schema.
    Returns the role's name, or None when there is nothing to separate (not PostgreSQL, or one role)."""
    role = app_url.username
    if conn.dialect.name != "postgresql" or not role:
        return None
    owner = conn.execute(text("SELECT current_user")).scalar()
    if role == owner:
        return None
    q = conn.dialect.identifier_preparer.quote
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        password = "" if app_url.password is None else \
            " PASSWORD " + String().literal_processor(conn.dialect)(str(app_url.password))
        try:
            with conn.begin_nested():
                conn.execute(text(f"CREATE ROLE {q(role)} LOGIN{password}"))
        except Exception as exc:  # noqa: BLE001 - the owner may lack CREATEROLE: say what to do instead
            raise RoleSetupFailed(f"the app role '{role}' does not exist and {owner} may not create it "
                                  f"({str(getattr(exc, 'orig', exc)).splitlines()[0]}): create it with "
                                  f"CREATE ROLE {q(role)} LOGIN PASSWORD '...', then run `stagegate init` again")
    elif found.rolsuper:
        log.warning("the app role %s is a superuser: it can get past every grant and trigger; "
                    "connect the app as a plain role", role)
    conn.execute(text(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}"))
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {q(role)}"))
    for table in inspect(conn).get_table_names(schema=schema):
        conn.execute(text(f"GRANT {LIMITED.get(table, APP_PRIVILEGES)} ON {q(schema)}.{q(table)} TO {q(role)}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {q(role)}"))
    return role
