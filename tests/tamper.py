"""Change the audit table behind the application's back, as someone with database access could."""
from sqlalchemy import text


def tamper(engine, statement: str, **params) -> None:
    """Run `statement` in its own transaction; on PostgreSQL past the append-only triggers
    (session_replication_role = replica skips ordinary triggers: it needs a superuser)."""
    with engine.begin() as conn:
        _raw(conn, statement, **params)


def _rows(conn, from_seq: int) -> list[dict]:
    from engine.store.models import AuditEvent

    table = AuditEvent.__table__
    return [dict(r) for r in conn.execute(table.select().where(table.c.seq >= from_seq)
                                          .order_by(table.c.seq)).mappings()]


def relink_plainly(engine, from_seq: int, upto: int | None = None) -> None:
    """What a database writer can do without the key: recompute every link from `from_seq` on (to `upto`,
    and the next event's link to it; else to the end, and the head) with plain SHA-256, as the chain
    was linked before it was keyed."""
    from engine.audit import link_hash

    with engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": from_seq - 1}).scalar() \
            or "0" * 64
        for row in _rows(conn, from_seq):
            if upto is not None and row["seq"] > upto:
                _raw(conn, "UPDATE audit_events SET prev_hash = :p WHERE seq = :s", p=prev, s=row["seq"])
                return
            digest = link_hash(None, prev, row)
            _raw(conn, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s", p=prev, h=digest,
                 s=row["seq"])
            prev = digest
        _raw(conn, "UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)


def cut_tail(engine, count: int) -> None:
    """Remove the newest `count` events and move the head back to the one before them."""
    with engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar()
        keep = last - count
        _raw(conn, "DELETE FROM audit_events WHERE seq > :k", k=keep)
        head = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :k"), {"k": keep}).scalar()
        _raw(conn, "UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1", k=keep, h=head)


def _raw(conn, statement: str, **params) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text(statement), params)
