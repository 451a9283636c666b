"""Change the audit table behind the application's back, as someone with database access could."""
from sqlalchemy import text


def tamper(engine, statement: str, **params) -> None:
    """Run `statement` in its own transaction; on PostgreSQL past the append-only triggers
    (session_replication_role = replica skips ordinary triggers: it needs a superuser)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(statement), params)
